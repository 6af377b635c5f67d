"""What the console's aiming view and settings page get from the running capture.

`LiveView` keeps a reference to the newest frame (the capture thread only swaps a pointer) and
encodes a JPEG when asked, at most `max_fps` times a second; `CameraControl` validates camera and
IR changes against the config schema and applies them live to the frame source and illuminator.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
from pydantic import BaseModel, ValidationError

from appliance.config import AlprConfig

logger = logging.getLogger(__name__)

# Flat "section.field" keys the console may change (webadmin.settings.SETTINGS uses the same).
LIVE_SETTINGS = ("camera.exposure_us", "camera.analogue_gain", "gpio.illuminator_mode",
                 "gpio.illuminator_max_duty", "gpio.ir_on_below", "gpio.ir_off_above")
DETECTION_MAX_AGE_S = 2.0  # boxes older than this are not drawn on a newer frame


@dataclass(frozen=True)
class LiveFrame:
    """Same fields as webadmin.context.LiveFrame (the console only reads the attributes)."""

    jpeg: bytes
    wall_time: float
    detections: tuple = ()  # ((x, y, w, h), plate text or None, score)


class LiveView:
    def __init__(self, max_fps: float = 4.0, quality: int = 80):
        self.min_interval_s, self.quality = 1.0 / max_fps, quality
        self._frame: Any = None  # newest Frame; replaced, never mutated here
        self._detections: tuple = ()
        self._detections_mono = float("-inf")
        self._cached: LiveFrame | None = None
        self._cached_mono = float("-inf")
        self._lock = threading.Lock()
        self.encodes = 0

    @property
    def frame(self) -> Any:
        """The newest Frame (its metadata shows the controls it was exposed with)."""
        return self._frame

    def offer_frame(self, frame: Any) -> None:
        """Capture thread: remember the newest frame (a reference, no copy, no encoding)."""
        self._frame = frame

    def offer_detections(self, detections, mono: float) -> None:
        """Worker: boxes of the last recognised frame (or of the last reads)."""
        self._detections, self._detections_mono = tuple(detections), mono

    def snapshot(self) -> LiveFrame | None:
        """JPEG of the newest frame; the cached one when asked again within min_interval_s."""
        with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached_mono < self.min_interval_s:
                return self._cached
            frame = self._frame
            if frame is None:
                return None
            ok, buf = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
            if not ok:
                logger.warning("live view: JPEG encoding failed")
                return self._cached
            fresh = abs(frame.mono_time - self._detections_mono) <= DETECTION_MAX_AGE_S
            self.encodes += 1
            self._cached = LiveFrame(buf.tobytes(), frame.wall_time,
                                     self._detections if fresh else ())
            self._cached_mono = now
            return self._cached


def detections_of(recognizer: Any, reads: list) -> list | None:
    """Boxes for the overlay: the recognizer's last frame if it exposes them, else the reads'."""
    last = getattr(recognizer, "last_detections", None)
    if last is not None:
        return list(last() if callable(last) else last)
    if reads:
        return [(tuple(r.box), r.plate, float(r.confidence)) for r in reads]
    return None


class SettingsError(ValueError):
    """A camera/IR setting is unknown or out of range; the message names the key."""


def _range(model: type[BaseModel], name: str) -> str:
    info = model.model_fields[name]
    lo = hi = None
    for meta in info.metadata:
        lo = getattr(meta, "ge", None) if getattr(meta, "ge", None) is not None else lo
        lo = getattr(meta, "gt", None) if getattr(meta, "gt", None) is not None else lo
        hi = getattr(meta, "le", None) if getattr(meta, "le", None) is not None else hi
        hi = getattr(meta, "lt", None) if getattr(meta, "lt", None) is not None else hi
    choices = getattr(info.annotation, "__args__", None)
    if choices and all(isinstance(c, str) for c in choices):
        return "one of " + ", ".join(choices)
    return f"{lo}..{hi}" if lo is not None or hi is not None else "see the config reference"


def validated(config: AlprConfig, changes: dict) -> AlprConfig:
    """A copy of `config` with the changes, each section re-validated by its own schema."""
    unknown = sorted(set(changes) - set(LIVE_SETTINGS))
    if unknown:
        raise SettingsError(f"unknown setting(s) {', '.join(unknown)}; live settings are "
                            f"{', '.join(LIVE_SETTINGS)}")
    sections = {}
    for section in sorted({k.split(".")[0] for k in changes}):
        current = getattr(config, section)
        mine = {k.split(".", 1)[1]: v for k, v in changes.items() if k.startswith(section + ".")}
        try:
            sections[section] = type(current).model_validate({**current.model_dump(), **mine})
        except ValidationError as exc:
            err = exc.errors()[0]
            name = str(err["loc"][0]) if err["loc"] else next(iter(mine))
            allowed = _range(type(current), name) if name in type(current).model_fields else ""
            raise SettingsError(f"{section}.{name}: {err['msg']} (allowed: {allowed}), "
                                f"got {mine.get(name)!r}") from None
    return config.model_copy(update=sections)


class CameraControl:
    """get()/apply() over the running source and illuminator (webadmin.context.CameraControl).

    ``persist(new_config)``, when given, saves the settings before they are applied (the unit
    passes appliance.capture.overrides.save_overrides); if it raises, nothing changes.
    """

    def __init__(self, config: AlprConfig, source: Any = None, illuminator: Any = None, *,
                 persist: Callable[[AlprConfig], Any] | None = None):
        self.config, self.source, self.illuminator = config, source, illuminator
        self.persist = persist
        self._lock = threading.Lock()

    def bind(self, source: Any, illuminator: Any, *, push: bool = False) -> None:
        """Attach the running source and illuminator; ``push`` applies the current settings
        to them (settings restored at start-up, for parts not built from this config)."""
        with self._lock:
            self.source, self.illuminator = source, illuminator
            if push:
                self._apply_camera(self.config)
                self._apply_illuminator(self.config)

    def get(self) -> dict:
        with self._lock:
            return {key: getattr(getattr(self.config, key.split(".")[0]), key.split(".")[1])
                    for key in LIVE_SETTINGS}

    def apply(self, changes: dict) -> dict:
        """Validate all changes first (nothing applied on error), then apply them live."""
        with self._lock:
            new = validated(self.config, changes)
            before = {k: getattr(getattr(self.config, k.split(".")[0]), k.split(".")[1])
                      for k in changes}
            if self.persist is not None:
                self.persist(new)  # an OSError here (disk full) leaves everything as it was
            self._apply_camera(new)
            self._apply_illuminator(new)
            self.config = new
        after = self.get()
        logger.info("live camera/IR settings applied: %s",
                    {k: {"from": before[k], "to": after[k]} for k in changes})
        return after

    def _apply_camera(self, new: AlprConfig) -> None:
        cam = new.camera
        set_controls = getattr(self.source, "set_controls", None)
        if set_controls is None:
            if self.source is not None:
                logger.warning("source %s cannot change controls live",
                               getattr(self.source, "name", "?"))
            return
        set_controls(exposure_us=cam.exposure_us, analogue_gain=cam.analogue_gain)

    def _apply_illuminator(self, new: AlprConfig) -> None:
        ill = self.illuminator
        if ill is None:
            return
        reconfigure = getattr(ill, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(new.gpio)
        if getattr(ill, "mode", None) != new.gpio.illuminator_mode:
            ill.set_mode(new.gpio.illuminator_mode, time.monotonic())
