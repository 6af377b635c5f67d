"""The seam between the capture loop and recognition (owned by inference/).

The loop hands every gated frame to `process`; the recognizer detects, reads and tracks and
returns the reads of vehicle passes that ended. `flush` closes every open track (shutdown).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from inference.types import Read


class Recognizer(Protocol):
    def process(self, image: np.ndarray, wall_time: float, mono_time: float,
                clock_synced: bool) -> list[Read]:
        """Recognise one BGR frame; return reads whose tracks closed."""

    def flush(self) -> list[Read]:
        """Close all open tracks and return their reads."""

    def close(self) -> None:
        """Release models and threads."""


class NullRecognizer:
    """Does nothing: for benchmarks of the loop itself and for safe-mode plumbing."""

    def process(self, image: np.ndarray, wall_time: float, mono_time: float,
                clock_synced: bool) -> list[Read]:
        return []

    def flush(self) -> list[Read]:
        return []

    def close(self) -> None:
        pass
