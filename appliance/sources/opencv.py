"""OpenCV capture: a V4L2 device (index or /dev/videoN), an RTSP/HTTP URL, or a video file."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2

from appliance.sources.base import BaseSource, Faults, Frame, Pacer, stamp
from appliance.sources.exc import CameraDisconnected, EndOfStream, SourceError

logger = logging.getLogger(__name__)


def classify(device: str) -> tuple[str, str | int]:
    """('v4l2', index|path) | ('stream', url) | ('file', path) for a camera.device string."""
    device = device.strip()
    if not device:
        raise SourceError("opencv source: camera.device is empty (give an index, /dev/videoN, "
                          "an rtsp:// URL or a video file)")
    if device.isdigit():
        return "v4l2", int(device)
    if "://" in device:
        return "stream", device
    if device.startswith("/dev/"):
        return "v4l2", device
    return "file", device


class OpenCVSource(BaseSource):
    """cv2.VideoCapture behind the source protocol. Files can loop; live streams report loss."""

    name = "opencv"

    def __init__(self, device: str, *, width: int | None = None, height: int | None = None,
                 fps: float = 15.0, loop: bool = True, pace: bool | None = None,
                 faults: Faults | None = None):
        super().__init__(faults=faults)
        self.kind, self.target = classify(device)
        self.width, self.height, self.fps, self.loop = width, height, fps, loop
        # Live devices pace themselves; files are paced to fps unless told otherwise.
        if pace is None:
            pace = self.kind == "file"
        self._pacer = Pacer(fps if pace else None)
        self._cap: cv2.VideoCapture | None = None

    def _open(self) -> None:
        if self.kind == "file" and not Path(self.target).is_file():
            raise SourceError(f"opencv source: no such video file {self.target}")
        backend = cv2.CAP_V4L2 if self.kind == "v4l2" else cv2.CAP_ANY
        cap = cv2.VideoCapture(self.target, backend)
        if not cap.isOpened():
            cap.release()
            raise CameraDisconnected(f"opencv source: cannot open {self._label()}")
        if self.kind == "v4l2":
            if self.width and self.height:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            cap.set(cv2.CAP_PROP_FPS, self.fps)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame, not a stale backlog
        self._cap = cap

    def _label(self) -> str:
        if self.kind == "stream":  # URLs may carry credentials: never log them
            return str(self.target).split("://", 1)[0] + "://…"
        return str(self.target)

    def _read(self) -> Frame:
        assert self._cap is not None
        ok, image = self._cap.read()
        if not ok and self.kind == "file":
            if not self.loop:
                raise EndOfStream(f"opencv source: end of {self.target}")
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._cap.read()
        if not ok or image is None:
            raise CameraDisconnected(f"opencv source: no frame from {self._label()}")
        self._pacer.wait()
        pos = self._cap.get(cv2.CAP_PROP_POS_MSEC)
        return stamp(image, None, metadata={"kind": self.kind, "position_ms": pos})

    def _close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
