"""Rolling figures for health: rates over a time window and percentiles over recent samples."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np


class RateMeter:
    """Events per second over the last `window_s` seconds."""

    def __init__(self, window_s: float = 5.0, maxlen: int = 1024):
        self.window_s = window_s
        self._times: deque[float] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def mark(self, now: float | None = None) -> None:
        with self._lock:
            self._times.append(time.monotonic() if now is None else now)

    def rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = [t for t in self._times if now - t <= self.window_s]
        if len(recent) < 2:
            return 0.0
        span = max(now - recent[0], recent[-1] - recent[0])
        return (len(recent) - 1) / span if span > 0 else 0.0


class Samples:
    """The last `maxlen` values of one measurement, summarised as p50/p95/max."""

    def __init__(self, maxlen: int = 512):
        self._values: deque[float] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self.count = 0

    def add(self, value: float) -> None:
        with self._lock:
            self._values.append(value)
            self.count += 1

    def summary(self, scale: float = 1000.0, digits: int = 2) -> dict:
        """{"p50", "p95", "max", "n"}; default scale turns seconds into milliseconds."""
        with self._lock:
            values = np.array(self._values, dtype=np.float64)
        if values.size == 0:
            return {"p50": None, "p95": None, "max": None, "n": 0}
        p50, p95 = np.percentile(values, [50, 95]) * scale
        return {"p50": round(float(p50), digits), "p95": round(float(p95), digits),
                "max": round(float(values.max() * scale), digits), "n": self.count}


class StageTimings:
    """Per-stage durations (read, gate, queue wait, recognise, sink, capture-to-result)."""

    STAGES = ("read", "gate", "queue_wait", "recognize", "sink", "latency")

    def __init__(self):
        self.stages = {name: Samples() for name in self.STAGES}

    def add(self, stage: str, seconds: float) -> None:
        self.stages[stage].add(seconds)

    def summary(self) -> dict:
        return {f"{name}_ms": s.summary() for name, s in self.stages.items()}
