"""Data that crosses package boundaries: what recognition produces for the rest of the unit.

These are plain frozen dataclasses so storage, uplink and the console can use them without
importing any model code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Detection:
    """One plate found in one frame (pixel coordinates of that frame)."""

    box: tuple[float, float, float, float]  # x, y, w, h
    score: float
    # (4, 2) float32: top-left, top-right, bottom-right, bottom-left
    corners: np.ndarray | None = None


@dataclass(frozen=True)
class Candidate:
    """One alternative reading of a plate."""

    text: str  # uppercase A-Z0-9 only
    confidence: float  # 0..1
    region: str | None = None  # format that matched, e.g. "US-CA", "EU-DE"; None = no pattern


@dataclass(frozen=True)
class Read:
    """One read per vehicle pass: the tracker's voted result. This is the unit's evidence record."""

    read_id: str  # uuid4 hex, assigned when the track closes
    plate: str  # voted text, uppercase A-Z0-9
    confidence: float  # 0..1
    candidates: tuple[Candidate, ...]  # best first; candidates[0].text == plate
    first_seen_wall: float  # epoch seconds (UTC)
    last_seen_wall: float
    first_seen_mono: float  # time.monotonic() of the unit
    last_seen_mono: float
    clock_synced: bool  # was the wall clock NTP-synchronised at capture
    frames_used: int
    direction: str = "unknown"  # "approaching" | "receding" | "left" | "right" | "unknown"
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # plate box in the best frame
    region: str | None = None
    crop_jpeg: bytes | None = None  # best plate crop
    frame_jpeg: bytes | None = None  # overview image of the best frame
    extra: dict = field(default_factory=dict)  # e.g. per-char confidences, model versions
