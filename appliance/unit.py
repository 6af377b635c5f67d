"""The daemon's composition root: builds source, devices, recognizer, sink and capture loop from
the config, owns their lifetimes, and reports health.

Anything that fails to build because the configuration is wrong (invalid file, explicit camera
that is not there, bad model) puts the unit in *safe mode*: capture off, the reason in health,
the process up so the console can fix it. Every part can be injected (tests, integration).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.capture.live import CameraControl, LiveFrame
from appliance.capture.loop import CaptureLoop, ReadSink
from appliance.capture.overrides import apply_saved, overrides_path, save_overrides
from appliance.capture.sdnotify import Notifier, Watchdog, watchdog_interval
from appliance.capture.sinks import MemorySink
from appliance.capture.system import ClockStatus, cpu_temperature, disk_free, temperatures
from appliance.config import AlprConfig
from appliance.sources import ReconnectingSource, build_source
from inference.recognizer import NullRecognizer, Recognizer

logger = logging.getLogger(__name__)


def log_event(kind: str, detail: dict) -> None:
    """Default security-event sink (the store's log_event replaces it)."""
    logger.warning("security event %s: %s", kind, detail)


@dataclass
class UnitParts:
    """Injected parts; None = build from config."""

    source: Any = None
    recognizer: Recognizer | None = None
    sink: ReadSink | None = None
    devices: Any = None
    pin_factory: Any = None  # gpiozero pin factory for build_devices (tests: MockFactory)
    notifier: Notifier | None = None
    event_sink: Any = log_event
    services: list = field(default_factory=list)  # objects with start(unit) and stop()


def build_recognizer(config: AlprConfig) -> tuple[Recognizer, str | None]:
    """The real recognizer; NullRecognizer (with a warning) only while inference.pipeline is absent.
    """
    try:
        from inference.pipeline import build_recognizer as build
    except ModuleNotFoundError as exc:
        if exc.name != "inference.pipeline":
            raise
        msg = "inference.pipeline is not available yet: running with NullRecognizer (no reads)"
        logger.warning(msg)
        return NullRecognizer(), msg
    return build(config.recognition), None


def build_devices(config: AlprConfig, pin_factory: Any = None) -> Any:
    """GPIO devices (members None when not fitted or no pin factory; see appliance.gpio).

    A bad pin or gpio.required without GPIO raises: that is a config problem (safe mode).
    """
    try:
        from appliance.gpio import build_devices as build
    except ModuleNotFoundError as exc:
        if exc.name not in ("appliance.gpio", "gpiozero"):
            raise
        logger.warning("GPIO support not available (%s): running without devices", exc)
        return None
    return build(config.gpio, pin_factory=pin_factory)


class Unit:
    def __init__(self, config: AlprConfig, *, data_dir: str | Path, safe_reason: str | None = None,
                 parts: UnitParts | None = None, max_frames: int | None = None, pace: bool = True):
        self.config, self.data_dir = config, Path(data_dir)
        self.max_frames, self.pace = max_frames, pace
        self.parts = parts or UnitParts()
        self.safe_reason = safe_reason
        self.warnings: list[str] = []
        self.notifier = self.parts.notifier or Notifier()
        self.clock = ClockStatus()
        self.loop: CaptureLoop | None = None
        self.source: Any = None
        self.recognizer: Recognizer | None = None
        self.sink: ReadSink = self.parts.sink or MemorySink()
        self.devices: Any = None
        # Console live settings saved in data_dir win over the config file (docs/decisions.md);
        # a bad settings file is reported and ignored. Bound to source/illuminator at build.
        self.config, problem = apply_saved(config, self.data_dir)
        self.restored_settings = self.config is not config
        if problem:
            self.warnings.append(problem)
        path = overrides_path(self.data_dir)
        self.camera_control = CameraControl(
            self.config, persist=lambda new: save_overrides(path, config, new))
        self.watchdog: Watchdog | None = None
        self.started_mono: float | None = None
        self.led_status: str | None = None
        self._stopped = False
        self._lock = threading.Lock()
        self.stop_requested = threading.Event()  # set by a part (e.g. keys zeroized on tamper)

    @property
    def safe_mode(self) -> bool:
        return self.safe_reason is not None

    def enter_safe_mode(self, reason: str) -> None:
        if self.safe_reason is None:
            self.safe_reason = reason
        logger.error("SAFE MODE (capture off, console only): %s", reason)

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> None:
        self.started_mono = time.monotonic()
        try:  # devices first: in safe mode the status LED still says so
            self.devices = self.parts.devices
            if self.devices is None:
                self.devices = build_devices(self.config, self.parts.pin_factory)
        except Exception as exc:
            self.enter_safe_mode(f"{type(exc).__name__}: {exc}")
        if not self.safe_mode:
            try:
                self._build_capture()
            except Exception as exc:
                logger.debug("capture build failed", exc_info=True)
                self._close_parts(devices=False)
                self.enter_safe_mode(f"{type(exc).__name__}: {exc}")
        else:
            self.enter_safe_mode(self.safe_reason)
        for service in self.parts.services:
            service.start(self)
        self.notifier.notify("READY=1")
        status = f"SAFE MODE: {self.safe_reason}" if self.safe_mode else "capturing"
        self.notifier.notify(f"STATUS={status}")
        default_s = min(5.0, self.config.capture.watchdog_stall_s / 2)
        self.watchdog = Watchdog(self.notifier, self._alive,
                                 interval_s=watchdog_interval(default_s))
        self.watchdog.start()
        self.update_led()

    def _build_capture(self) -> None:
        cam = self.config.camera
        inner = self.parts.source or build_source(cam, pace=self.pace)
        self.source = inner if isinstance(inner, ReconnectingSource) else ReconnectingSource(
            inner, initial_s=cam.reconnect_initial_s, max_s=cam.reconnect_max_s)
        self.source.open()
        if self.parts.recognizer is not None:
            self.recognizer = self.parts.recognizer
        else:
            self.recognizer, warning = build_recognizer(self.config)
            if warning:
                self.warnings.append(warning)
        self.loop = CaptureLoop(self.source, self.recognizer, self.sink, self.config.capture,
                                lores_size=(cam.lores_width, cam.lores_height),
                                illuminator=getattr(self.devices, "illuminator", None),
                                cpu_temp=cpu_temperature, clock_synced=self.clock,
                                max_frames=self.max_frames,
                                light_input=self.config.gpio.ir_auto_input)
        self._wire_devices()
        self.camera_control.bind(self.source, getattr(self.devices, "illuminator", None),
                                 push=self.restored_settings and self.parts.source is not None)
        self.loop.start()

    def _wire_devices(self) -> None:
        dev = self.devices
        if dev is None:
            return
        burst_s = self.config.gpio.trigger_burst_s
        if getattr(dev, "trigger", None) is not None:
            dev.on_trigger(lambda *_: self.loop.start_burst(burst_s))
        if getattr(dev, "tamper", None) is not None:
            dev.on_tamper(lambda *_: self.parts.event_sink(
                "tamper", {"unit": self.config.unit.unit_id, "wall_time": time.time()}))

    def live_frame(self) -> LiveFrame | None:
        """The newest frame as JPEG with the last detections (None: no frame, or safe mode)."""
        return self.loop.live.snapshot() if self.loop is not None else None

    def _alive(self) -> bool:
        """For the watchdog: frames must flow (in safe mode, the process itself is the service)."""
        if self._stopped:
            return False
        if self.loop is None:
            return True
        return self.loop.progressing() or self.loop.finished.is_set()

    def wait(self, stop: threading.Event, poll_s: float = 0.5) -> None:
        """Block until `stop` is set or capture ends by itself; keeps the status LED current."""
        while not stop.wait(poll_s):
            self.update_led()
            if self.stop_requested.is_set():
                return
            if self.loop is not None and self.loop.finished.is_set():
                return
            if self.loop is None and self.max_frames is not None:
                return  # safe mode in a bounded run: nothing will ever come

    def stop(self) -> None:
        """Clean shutdown: frames in flight finished, recognizer flushed, every read to the sink."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self.notifier.notify("STOPPING=1")
        if self.watchdog is not None:
            self.watchdog.stop()
        if self.loop is not None:
            self.loop.stop()
        for service in reversed(self.parts.services):
            try:
                service.stop()
            except Exception:
                logger.exception("service %r failed to stop", service)
        self._close_parts()
        self.notifier.close()

    def _close_parts(self, devices: bool = True) -> None:
        for name, part in (("recognizer", self.recognizer), ("source", self.source),
                           ("devices", self.devices if devices else None)):
            if part is None:
                continue
            try:
                part.close()
            except Exception:
                logger.exception("closing %s failed", name)

    # -- health ----------------------------------------------------------------------------
    def led_state(self) -> str:
        if self.safe_mode:
            return "safe"
        h = self.loop.health() if self.loop else {}
        camera = h.get("camera", {})
        if camera.get("connected") is False or h.get("stalled") or h.get("reads_undelivered") \
                or h.get("error"):
            return "degraded"
        return "healthy"

    def update_led(self) -> None:
        state = self.led_state()
        led = getattr(self.devices, "led", None)
        if state != self.led_status:
            if state != "healthy":
                logger.warning("unit status: %s", state)
            self.led_status = state
            if led is not None:
                try:
                    led.set_status(state)
                except Exception:
                    logger.exception("status LED failed")

    def health(self) -> dict:
        ill = getattr(self.devices, "illuminator", None)
        return {
            "unit_id": self.config.unit.unit_id,
            "state": "stopped" if self._stopped else ("safe" if self.safe_mode else "running"),
            "safe_mode": self.safe_mode, "safe_reason": self.safe_reason,
            "status": self.led_state(), "warnings": list(self.warnings),
            "uptime_s": round(time.monotonic() - self.started_mono, 1) if self.started_mono else 0,
            "capture": self.loop.health() if self.loop else None,
            "illuminator": ill.state() if ill is not None else None,
            "gpio": self.devices.state() if hasattr(self.devices, "state") else None,
            "temperatures_c": temperatures(), "cpu_temp_c": cpu_temperature(),
            "disk": disk_free(self.data_dir), "clock_synchronised": self.clock(),
            "watchdog": {"enabled": self.notifier.enabled,
                         "pings": self.watchdog.pings if self.watchdog else 0,
                         "withheld": self.watchdog.missed if self.watchdog else 0},
            "recognizer": type(self.recognizer).__name__ if self.recognizer else None,
            "models": self._models(),
            "sink": type(self.sink).__name__,
            **self._service_health(),
        }

    def _models(self) -> dict | None:
        """The recognizer's models (region, detector, OCR reader): what technicians check
        after a model update, the same record every read carries (`Read.extra["models"]`)."""
        models = getattr(self.recognizer, "models", None)
        return models() if callable(models) else None

    def _service_health(self) -> dict:
        """Each named service's own health (store stats, uplink link state) under its name."""
        out = {}
        for service in self.parts.services:
            name, fn = getattr(service, "name", None), getattr(service, "health", None)
            if name is None or not callable(fn) or self._stopped:
                continue
            try:
                out[name] = fn()
            except Exception as exc:
                out[name] = {"error": f"{type(exc).__name__}: {exc}"}
        return out
