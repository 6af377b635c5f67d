"""Reference receiver (`alpr receiver`): verifies and stores batches from enrolled units."""
