"""Console live settings that survive a restart: ``data_dir/live-settings.json``.

The config file stays the technician's baseline and is never rewritten by the unit. What the
console changes live (only the keys in ``appliance.capture.live.LIVE_SETTINGS``: exposure, gain,
IR mode and thresholds; never a secret) is kept here as the values that differ from the config
file, written atomically (temp file, fsync, rename), and applied at start-up after the config
file, validated by the same pydantic models. A file that cannot be read or no longer validates
is reported and ignored: the unit starts on the config file alone. docs/decisions.md says why.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from appliance.capture.live import LIVE_SETTINGS, SettingsError, validated
from appliance.config import AlprConfig
from provisioning.keys import write_file_atomic

logger = logging.getLogger(__name__)

FILE_NAME = "live-settings.json"
FORMAT = "alpr-live-settings"
VERSION = 1


class OverridesError(ValueError):
    """The live-settings file is unreadable, malformed or no longer valid for this config."""


def overrides_path(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / FILE_NAME


def live_values(config: AlprConfig) -> dict:
    """The live settings' current values, as flat ``section.field`` keys."""
    return {key: getattr(getattr(config, key.split(".")[0]), key.split(".")[1])
            for key in LIVE_SETTINGS}


def load_overrides(path: str | os.PathLike, config: AlprConfig) -> tuple[AlprConfig, dict]:
    """``config`` with the saved settings applied, and those settings. No file: no change."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return config, {}
    except OSError as exc:
        raise OverridesError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise OverridesError(f"{path}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise OverridesError(f"{path}: not a {FORMAT} v{VERSION} file")
    settings = doc.get("settings")
    if not isinstance(settings, dict):
        raise OverridesError(f"{path}: 'settings' must be an object")
    if not settings:
        return config, {}
    try:
        return validated(config, settings), settings
    except SettingsError as exc:
        raise OverridesError(f"{path}: {exc}") from None


def apply_saved(config: AlprConfig, data_dir: str | os.PathLike) -> tuple[AlprConfig, str | None]:
    """Start-up: the config with saved live settings, or the config alone and the reason why."""
    path = overrides_path(data_dir)
    try:
        effective, settings = load_overrides(path, config)
    except OverridesError as exc:
        msg = f"console settings not restored, running on the config file: {exc}"
        logger.error("%s", msg)
        return config, msg
    if settings:
        logger.info("console settings restored from %s: %s", path, settings)
    return effective, None


def save_overrides(path: str | os.PathLike, base: AlprConfig, effective: AlprConfig) -> dict:
    """Keep the live settings that differ from the config file ``base``; returns them."""
    before = live_values(base)
    settings = {k: v for k, v in live_values(effective).items() if v != before[k]}
    body = json.dumps({"format": FORMAT, "version": VERSION, "settings": settings},
                      indent=2, sort_keys=True) + "\n"
    write_file_atomic(path, body.encode(), mode=0o640)
    return settings
