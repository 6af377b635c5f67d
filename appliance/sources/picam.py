"""Raspberry Pi camera through picamera2 (from Raspberry Pi OS apt: python3-picamera2).

Main stream (BGR) for recognition plus a YUV420 low-res stream for motion, in one request,
at a short fixed exposure so moving plates are sharp. After the IR illuminator switches,
the next capture is flushed so that its frame was exposed after the change. Every request
is released, whatever happens. `picamera2` is imported here only, and only when opened.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Callable
from typing import Any

from appliance.sources.base import BaseSource, Faults, Frame
from appliance.sources.exc import CameraDisconnected, CameraTimeout, SourceUnavailable

logger = logging.getLogger(__name__)


def load_picamera2() -> type:
    """The Picamera2 class, or SourceUnavailable saying why (off the Pi, no libcamera bindings)."""
    try:
        from picamera2 import Picamera2  # noqa: PLC0415 - lazy on purpose
    except ImportError as exc:
        raise SourceUnavailable(
            f"picamera2 is not importable ({exc}); on Raspberry Pi OS install python3-picamera2 "
            "and create the venv with --system-site-packages") from exc
    return Picamera2


class Picamera2Source(BaseSource):
    """One Pi camera. `camera_factory` (tests, hw_tests) replaces the Picamera2 class."""

    name = "picamera2"

    def __init__(self, *, width: int = 1280, height: int = 720, lores: tuple[int, int] = (320, 180),
                 fps: float = 15.0, exposure_us: int = 1000, analogue_gain: float = 4.0,
                 camera_num: int = 0, timeout_s: float = 2.0,
                 camera_factory: Callable[..., Any] | None = None, faults: Faults | None = None):
        super().__init__(faults=faults)
        self.size, self.lores_size = (width, height), lores
        self.fps, self.exposure_us, self.analogue_gain = fps, exposure_us, analogue_gain
        self.camera_num, self.timeout_s = camera_num, timeout_s
        self._factory = camera_factory
        self._cam: Any = None
        self._flush_ns: int | None = None
        self.requests_taken = 0
        self.requests_released = 0

    def notify_ir_change(self) -> None:
        """The illuminator switched: the next frame must start its exposure after now."""
        self._flush_ns = time.monotonic_ns()  # picamera2 compares with SensorTimestamp

    def _controls(self) -> dict:
        frame_us = int(1_000_000 / self.fps)
        return {"AeEnable": False, "ExposureTime": min(self.exposure_us, frame_us),
                "AnalogueGain": self.analogue_gain, "FrameDurationLimits": (frame_us, frame_us)}

    def _apply_controls(self) -> None:
        cam = self._cam  # None while a reconnect is under way: _open applies them then
        if cam is None:
            return
        cam.set_controls(self._controls())
        self._flush_ns = time.monotonic_ns()  # the next frame is exposed with them

    def _open(self) -> None:
        factory = self._factory or load_picamera2()
        try:
            cam = factory(self.camera_num)
        except (RuntimeError, IndexError, OSError) as exc:  # no camera / camera busy
            raise CameraDisconnected(
                f"picamera2: camera {self.camera_num} unavailable: {exc}") from exc
        try:
            config = cam.create_video_configuration(
                main={"size": self.size, "format": "RGB888"},  # RGB888 is B,G,R in memory
                lores={"size": self.lores_size, "format": "YUV420"},
                controls=self._controls(), buffer_count=4)
            cam.configure(config)
            cam.start()
        except Exception as exc:
            cam.close()
            raise CameraDisconnected(f"picamera2: cannot start camera: {exc}") from exc
        self._cam = cam
        self._flush_ns = time.monotonic_ns()  # first frame after (re)start: fixed controls applied

    def _capture(self, flush_ns: int | None) -> Any:
        """One completed request, exposed after flush_ns (monotonic ns) when given."""
        try:
            job = self._cam.capture_request(wait=False, flush=flush_ns)
            return job.get_result(timeout=self.timeout_s)
        except (TimeoutError, concurrent.futures.TimeoutError) as exc:
            raise CameraTimeout(f"picamera2: no frame within {self.timeout_s}s") from exc
        except RuntimeError as exc:
            raise CameraDisconnected(f"picamera2: capture failed: {exc}") from exc

    def _read(self) -> Frame:
        flush_ns, self._flush_ns = self._flush_ns, None
        request = self._capture(flush_ns)
        self.requests_taken += 1
        try:
            wall, mono = time.time(), time.monotonic()
            image = request.make_array("main")
            yuv = request.make_array("lores")
            meta = request.get_metadata()
        except Exception as exc:  # a bad buffer means a sick camera: reopen it
            raise CameraDisconnected(f"picamera2: cannot read the request: {exc}") from exc
        finally:
            request.release()
            self.requests_released += 1
        lw, lh = self.lores_size
        return Frame(image=image, lores=yuv[:lh, :lw].copy(), wall_time=wall, mono_time=mono, seq=0,
                     exposure_us=meta.get("ExposureTime"), analogue_gain=meta.get("AnalogueGain"),
                     lux=meta.get("Lux"),
                     metadata={"sensor_timestamp_ns": meta.get("SensorTimestamp"),
                               "colour_temperature": meta.get("ColourTemperature"),
                               "flushed": flush_ns is not None})

    def _close(self) -> None:
        cam, self._cam = self._cam, None
        if cam is None:
            return
        try:
            cam.stop()
        except Exception as exc:  # closing must not raise: the camera may already be gone
            logger.warning("picamera2: stop failed: %s", exc)
        finally:
            cam.close()
