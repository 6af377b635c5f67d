"""Motion gate on the low-res gray stream: recognition runs only when something moves.

A periodic forced check lets a stopped vehicle (or a motion gate blinded by noise) still be
read; a trigger burst (loop detector, radar) opens the gate for a while regardless.
"""

from __future__ import annotations

import cv2
import numpy as np

from appliance.sources.base import Frame

PIXEL_DELTA = 25  # gray levels: above sensor noise, below a vehicle edge


def lores_gray(frame: Frame, size: tuple[int, int]) -> np.ndarray:
    """The frame's low-res gray image; derived from the main image when the source has none."""
    if frame.lores is not None:
        return frame.lores
    small = cv2.resize(frame.image, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small


class MotionGate:
    """decide(lores, now) -> reason to recognise ("motion"|"forced"|"burst"|"always") or None."""

    def __init__(self, *, enabled: bool = True, threshold: float = 0.004,
                 forced_check_s: float = 2.0):
        self.enabled, self.threshold, self.forced_check_s = enabled, threshold, forced_check_s
        self._prev: np.ndarray | None = None
        self._last_pass: float | None = None
        self._burst_until = 0.0
        self.counts = {"motion": 0, "forced": 0, "burst": 0, "always": 0, "gated": 0}
        self.last_fraction = 0.0

    def start_burst(self, seconds: float, now: float) -> None:
        self._burst_until = max(self._burst_until, now + seconds)

    def burst_active(self, now: float) -> bool:
        return now < self._burst_until

    def changed_fraction(self, lores: np.ndarray) -> float:
        prev, self._prev = self._prev, lores
        if prev is None or prev.shape != lores.shape:
            return 1.0  # first frame (or new size): treat as motion
        diff = cv2.absdiff(prev, lores)
        return float(np.count_nonzero(diff > PIXEL_DELTA)) / diff.size

    def decide(self, lores: np.ndarray, now: float) -> str | None:
        if not self.enabled:
            reason = "always"
        else:
            self.last_fraction = self.changed_fraction(lores)
            if now < self._burst_until:
                reason = "burst"
            elif self.last_fraction >= self.threshold:
                reason = "motion"
            elif self._last_pass is None or now - self._last_pass >= self.forced_check_s:
                reason = "forced"
            else:
                self.counts["gated"] += 1
                return None
        self._last_pass = now
        self.counts[reason] += 1
        return reason
