"""The frame source protocol, the Frame record, and what every implementation shares.

A source is opened, read frame by frame, and closed. Closing twice is safe; reading a source
that is not open raises SourceClosed; a closed source may be opened again (that is how the
reconnect wrapper recovers a lost camera).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from appliance.sources.exc import CameraDisconnected, CameraTimeout, SourceClosed

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Frame:
    """One captured frame with the metadata evidence needs."""

    image: np.ndarray  # BGR uint8 (H, W, 3), main stream
    lores: np.ndarray | None  # gray uint8 low-res stream (motion, brightness); None = derive
    wall_time: float  # time.time() at capture
    mono_time: float  # time.monotonic() at capture
    seq: int  # source sequence number; gaps = frames the source dropped
    exposure_us: int | None = None
    analogue_gain: float | None = None
    lux: float | None = None
    ir_on: bool = False  # illuminator state while this frame was exposed
    metadata: dict = field(default_factory=dict)


@runtime_checkable
class FrameSource(Protocol):
    name: str

    def open(self) -> None: ...

    def read(self) -> Frame: ...

    def close(self) -> None: ...


class BaseSource:
    """Open/closed state, context manager and fault injection for the concrete sources."""

    name = "base"
    exposure_us: int | None = None  # requested fixed controls (set_controls)
    analogue_gain: float | None = None

    def __init__(self, *, faults: Faults | None = None):
        self.faults = faults or Faults()
        self._is_open = False
        self._seq = 0
        self.opens = 0  # history, like gpiozero's MockPin.states
        self.closes = 0

    @property
    def is_open(self) -> bool:
        return self._is_open

    def open(self) -> None:
        if self._is_open:
            return
        self.faults.on_open()
        self._open()
        self._is_open = True
        self.opens += 1

    def close(self) -> None:
        if not self._is_open:
            return
        self._is_open = False
        self.faults.on_close()
        try:
            self._close()
        finally:
            self.closes += 1

    def read(self) -> Frame:
        if not self._is_open:
            raise SourceClosed(f"{self.name}: source is not open")
        while True:
            self.faults.before_read(lambda: self._is_open)
            if not self._is_open:
                raise SourceClosed(f"{self.name}: closed while reading")
            frame = self._read()
            self._seq += 1
            frame.seq = self._seq
            if self.faults.should_drop():
                continue  # the frame is lost inside the "camera": the loop sees a seq gap
            return frame

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def set_controls(self, exposure_us: int | None = None,
                     analogue_gain: float | None = None) -> None:
        """Fixed exposure/gain from the next frame on (None = unchanged); kept across reopens.

        Sources without a sensor to drive (files, streams) only record them.
        """
        if exposure_us is not None:
            self.exposure_us = int(exposure_us)
        if analogue_gain is not None:
            self.analogue_gain = float(analogue_gain)
        if self._is_open:
            self._apply_controls()

    # Subclasses implement these.
    def _apply_controls(self) -> None:
        pass

    def _open(self) -> None:
        raise NotImplementedError

    def _read(self) -> Frame:
        raise NotImplementedError

    def _close(self) -> None:
        pass


@dataclass
class Faults:
    """Fault knobs for fake sources (like gpiozero's MockPin): each models a real camera failure.

    drop_every: every Nth frame is lost before delivery (sequence gap).
    fail_after: after this many delivered reads (counted over the source's life), raise `failure`
        ("timeout" | "disconnect") `fail_times` times in a row.
    reopen_failures: the next N open() calls after a failure raise CameraDisconnected.
    stall_after: after this many reads, read() blocks until the source is closed (hung camera).
    """

    drop_every: int = 0
    fail_after: int | None = None
    failure: str = "disconnect"
    fail_times: int = 1
    reopen_failures: int = 0
    stall_after: int | None = None
    reads: int = 0
    failures_raised: int = 0
    _pending_reopen_failures: int = 0
    _stall: threading.Event = field(default_factory=threading.Event, repr=False)

    def on_open(self) -> None:
        if self._pending_reopen_failures > 0:
            self._pending_reopen_failures -= 1
            raise CameraDisconnected("fault: camera not found on reopen")
        self._stall.clear()

    def on_close(self) -> None:
        self._stall.set()  # release a stalled read

    def before_read(self, still_open: Callable[[], bool]) -> None:
        if self.stall_after is not None and self.reads >= self.stall_after:
            while still_open() and not self._stall.wait(0.05):
                pass
            return
        if (self.fail_after is not None and self.reads >= self.fail_after
                and self.failures_raised < self.fail_times):
            self.failures_raised += 1
            self._pending_reopen_failures = self.reopen_failures
            if self.failure == "timeout":
                raise CameraTimeout("fault: no frame within timeout")
            raise CameraDisconnected("fault: camera disconnected")
        self.reads += 1

    def should_drop(self) -> bool:
        return bool(self.drop_every) and self.reads % self.drop_every == 0


class Pacer:
    """Sleeps so reads come no faster than `fps` (a camera's frame clock); fps None = no pacing.

    A late frame does not bank time: the schedule restarts from now, as a sensor would.
    """

    def __init__(self, fps: float | None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.period = 1.0 / fps if fps else 0.0
        self._clock, self._sleep = clock, sleep
        self._next: float | None = None

    def wait(self) -> None:
        if not self.period:
            return
        now = self._clock()
        if self._next is not None and now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self.period


def stamp(image: np.ndarray, lores: np.ndarray | None = None, **meta) -> Frame:
    """A Frame captured now (seq is filled in by BaseSource.read)."""
    return Frame(image=image, lores=lores, wall_time=time.time(), mono_time=time.monotonic(),
                 seq=0, **meta)
