"""Recognizers, sinks and devices for capture tests: fakes that obey the seams' contracts."""

from __future__ import annotations

import threading
import time
import uuid

from inference.types import Candidate, Read


def make_read(plate: str, wall: float, mono: float, frames: int = 1) -> Read:
    return Read(read_id=uuid.uuid4().hex, plate=plate, confidence=0.9,
                candidates=(Candidate(plate, 0.9),), first_seen_wall=wall, last_seen_wall=wall,
                first_seen_mono=mono, last_seen_mono=mono, clock_synced=False, frames_used=frames)


class BlockingRecognizer:
    """process() blocks until `release` is set: the slowest recognizer there is."""

    def __init__(self):
        self.release = threading.Event()
        self.processed = 0

    def process(self, image, wall_time, mono_time, clock_synced):
        self.release.wait(30)
        self.processed += 1
        return []

    def flush(self):
        return []

    def close(self):
        pass


class TrackingRecognizer:
    """Like a tracker: a track spans `every` frames and its read is returned when the next
    track starts; flush() returns the track still open (there is one after any frame).
    Records every read it created, so a test can check that none was lost."""

    def __init__(self, every: int = 5, delay_s: float = 0.0):
        self.every, self.delay_s = every, delay_s
        self.created: list[Read] = []
        self.flushed: list[Read] = []
        self.frames = 0
        self._open: tuple[float, float, int] | None = None  # first wall, first mono, frames
        self._lock = threading.Lock()

    def _close(self, prefix: str) -> Read:
        wall, mono, n = self._open
        read = make_read(f"{prefix}{len(self.created):05d}", wall, mono, n)
        self.created.append(read)
        self._open = None
        return read

    def process(self, image, wall_time, mono_time, clock_synced):
        if self.delay_s:
            time.sleep(self.delay_s)
        with self._lock:
            self.frames += 1
            out = []
            if self._open is not None and self._open[2] >= self.every:
                out.append(self._close("T"))
            if self._open is None:
                self._open = (wall_time, mono_time, 0)
            self._open = (*self._open[:2], self._open[2] + 1)
            return out

    def flush(self):
        with self._lock:
            if self._open is None:
                return []
            read = self._close("F")
            self.flushed.append(read)
            return [read]

    def close(self):
        pass


class ListSink:
    """Collects reads; fail_first makes the first N handle() calls raise (a full disk)."""

    def __init__(self, fail_first: int = 0):
        self.reads: list[Read] = []
        self.fail_first = fail_first
        self.calls = 0

    def handle(self, read: Read) -> None:
        self.calls += 1
        if self.calls <= self.fail_first:
            raise OSError(28, "No space left on device")
        self.reads.append(read)


class FakeIlluminator:
    """update() switches on when brightness is low; records its calls."""

    def __init__(self, on_below: float = 100.0):
        self.on_below = on_below
        self.is_on = False
        self.calls: list[tuple[float, float, float | None]] = []

    def update(self, brightness: float, now: float, cpu_temp_c: float | None) -> bool:
        self.calls.append((brightness, now, cpu_temp_c))
        want = brightness < self.on_below
        changed, self.is_on = want != self.is_on, want
        return changed

    def state(self) -> dict:
        return {"on": self.is_on, "mode": "auto"}


def wait_for(predicate, timeout_s: float = 10.0):
    """Poll ``predicate`` until it returns something truthy (returned); fail after timeout_s."""
    import pytest

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.02)
    pytest.fail("condition not reached in time")
