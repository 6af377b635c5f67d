"""The unit's daemon and composition root: config, frame sources, GPIO, capture loop, CLI."""
