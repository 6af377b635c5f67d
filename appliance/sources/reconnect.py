"""Camera loss → reopen with exponential backoff, counted for health."""

from __future__ import annotations

import logging
import threading
import time

from appliance.sources.base import BaseSource, Frame
from appliance.sources.exc import CAMERA_LOSS, SourceClosed, SourceError

logger = logging.getLogger(__name__)


class ReconnectingSource:
    """Wraps a source; a timeout or disconnect closes it and reopens it until it works again.

    Waits initial_s, 2*initial_s, ... up to max_s between attempts. `stop` (an Event) ends the
    waiting at once: read() then raises SourceClosed so the capture thread can exit.
    """

    def __init__(self, source: BaseSource, *, initial_s: float = 0.5, max_s: float = 30.0,
                 stop: threading.Event | None = None):
        self.source = source
        self.name = source.name
        self.initial_s, self.max_s = initial_s, max_s
        self.stop = stop or threading.Event()
        self.losses = 0
        self.reconnects = 0
        self.failed_attempts = 0
        self.connected = False
        self.last_error: str | None = None
        self.lost_since: float | None = None
        self._pending = False  # camera absent at open(): reconnect before the first read

    def open(self) -> None:
        """Open the camera; if it is missing now, the first read() keeps trying (with backoff)."""
        self.stop.clear()
        try:
            self.source.open()
        except CAMERA_LOSS as exc:
            self._lost(exc)
            self._pending = True
            return
        self.connected = True

    def close(self) -> None:
        self.stop.set()
        self.source.close()
        self.connected = False

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def notify_ir_change(self) -> None:
        notify = getattr(self.source, "notify_ir_change", None)
        if notify is not None:
            notify()

    def set_controls(self, exposure_us: int | None = None,
                     analogue_gain: float | None = None) -> None:
        set_controls = getattr(self.source, "set_controls", None)
        if set_controls is None:
            logger.warning("%s: exposure/gain cannot be changed live", self.name)
            return
        set_controls(exposure_us=exposure_us, analogue_gain=analogue_gain)

    def read(self) -> Frame:
        if self._pending:
            self._pending = False
            self._reconnect()
        while True:
            try:
                return self.source.read()
            except CAMERA_LOSS as exc:
                self._lost(exc)
                self._reconnect()

    def _lost(self, exc: Exception) -> None:
        self.losses += 1
        self.connected = False
        self.last_error = str(exc)
        self.lost_since = time.monotonic()
        logger.warning("camera lost (%s): %s; reconnecting", self.name, exc)

    def _reconnect(self) -> None:
        delay = self.initial_s
        while not self.stop.wait(delay):
            self.source.close()
            try:
                self.source.open()
            except (SourceError, OSError) as exc:
                self.failed_attempts += 1
                self.last_error = str(exc)
                logger.warning("camera reopen failed (%s): %s; next try in %.1fs", self.name, exc,
                               min(delay * 2, self.max_s))
                delay = min(delay * 2, self.max_s)
                continue
            self.reconnects += 1
            self.connected = True
            self.lost_since = None
            logger.warning("camera reconnected (%s) after %d attempt(s)", self.name,
                           self.failed_attempts)
            return
        raise SourceClosed(f"{self.name}: stopped while reconnecting")

    def state(self) -> dict:
        return {"source": self.name, "connected": self.connected, "losses": self.losses,
                "reconnects": self.reconnects, "failed_attempts": self.failed_attempts,
                "last_error": self.last_error}
