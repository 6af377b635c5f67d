"""Camera and IR settings a technician may change live, validated by the config schema itself."""

from __future__ import annotations

import threading

from pydantic import ValidationError

# Flat "section.field" keys; labels shown on the settings page.
SETTINGS = {
    "camera.exposure_us": "Exposure (µs)",
    "camera.analogue_gain": "Analogue gain",
    "gpio.illuminator_mode": "IR illuminator mode",
    "gpio.illuminator_max_duty": "IR duty-cycle cap (0-1)",
    "gpio.ir_on_below": "IR on below brightness",
    "gpio.ir_off_above": "IR off above brightness",
}


class SettingsError(ValueError):
    """A requested setting is unknown or out of range."""


class SettingsNotSaved(SettingsError):
    """The unit could not save the settings (disk full, read-only); nothing was changed."""


def field_info(config, key: str):
    section, name = key.split(".", 1)
    return type(getattr(config, section)).model_fields[name]


def limits(config, key: str) -> dict:
    """min/max/choices from the schema, for the form's input attributes."""
    info = field_info(config, key)
    out: dict = {}
    for meta in info.metadata:
        for attr, html in (("ge", "min"), ("gt", "min"), ("le", "max"), ("lt", "max")):
            if getattr(meta, attr, None) is not None:
                out[html] = getattr(meta, attr)
    choices = getattr(info.annotation, "__args__", None)
    if choices and all(isinstance(c, str) for c in choices):
        out["choices"] = list(choices)
    return out


def validate_changes(config, current: dict, raw: dict) -> dict:
    """Typed, schema-checked changes (cross-field rules included); SettingsError names the key."""
    if not raw:
        raise SettingsError("no settings given")
    unknown = sorted(set(raw) - set(SETTINGS))
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
    changes: dict = {}
    for section in {key.split(".")[0] for key in raw}:
        merged = getattr(config, section).model_dump()
        merged.update({k.split(".", 1)[1]: v for k, v in current.items()
                       if k.startswith(section + ".")})
        mine = {k.split(".", 1)[1]: v for k, v in raw.items() if k.startswith(section + ".")}
        merged.update(mine)
        try:
            checked = type(getattr(config, section)).model_validate(merged)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            raise SettingsError(f"{section}.{where}: {err['msg']}" if err["loc"]
                                else f"{section}: {err['msg']}") from None
        changes.update({f"{section}.{k}": getattr(checked, k) for k in mine})
    return changes


class ConfigCameraControl:
    """Settings held in memory, starting from the config (console-only development runs, tests).

    The daemon passes the capture loop's own control object instead, which applies them live.
    """

    def __init__(self, config):
        self._lock = threading.Lock()
        self._values = {key: getattr(getattr(config, key.split(".")[0]), key.split(".")[1])
                        for key in SETTINGS}
        self.history: list[dict] = []

    def get(self) -> dict:
        with self._lock:
            return dict(self._values)

    def apply(self, changes: dict) -> dict:
        with self._lock:
            unknown = set(changes) - set(self._values)
            if unknown:
                raise KeyError(f"unknown settings {sorted(unknown)}")
            self._values.update(changes)
            self.history.append(dict(changes))
            return dict(self._values)
