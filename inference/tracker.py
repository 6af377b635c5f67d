"""Multi-frame tracking and voting: one Read per vehicle pass.

Detections of consecutive frames are associated by overlap / centre distance (greedy, best
pairs first); a track closes when it has not been seen for `timeout_s` (or on flush). On close,
the characters are voted with the per-character confidences of every frame's reading, the
direction of travel is taken from the box's motion, and a repeat of the same plate within
`repeat_window_s` is suppressed. Pure numpy/Python: no model here.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import cv2
import numpy as np

from inference.formats import matching_region
from inference.types import Candidate, Read

logger = logging.getLogger(__name__)

MAX_GAP_WIDTHS = 1.5  # a detection further than this many plate widths is another vehicle
MIN_IOU = 0.05


@dataclass
class Observation:
    """One plate read in one frame (frame pixel coordinates)."""

    box: tuple[float, float, float, float]
    wall: float
    mono: float
    candidates: tuple[Candidate, ...]  # format-ranked, best first
    char_conf: tuple[float, ...]  # per character of candidates[0].text
    score: float = 1.0  # detection score
    crop: np.ndarray | None = None  # rectified/raw crop, for the evidence image
    frame: np.ndarray | None = None  # overview (already downscaled) of the frame

    @property
    def text(self) -> str:
        return self.candidates[0].text if self.candidates else ""

    @property
    def quality(self) -> float:
        mean_conf = float(np.mean(self.char_conf)) if self.char_conf else 0.0
        return mean_conf * self.score * math.sqrt(max(self.box[2], 1.0))


@dataclass
class Track:
    observations: list[Observation] = field(default_factory=list)
    clock_synced: bool = True
    best: Observation | None = None  # the only observation that keeps its images

    def add(self, o: Observation) -> None:
        """Append; images are kept only for the best-quality observation (memory)."""
        if self.best is None or o.quality > self.best.quality:
            if self.best is not None:
                self.best.crop = self.best.frame = None
            self.best = o
        else:
            o.crop = o.frame = None
        self.observations.append(o)

    @property
    def last(self) -> Observation:
        return self.observations[-1]

    def predicted_box(self, mono: float) -> tuple[float, float, float, float]:
        """Last box moved by the track's recent velocity (constant-velocity guess)."""
        x, y, w, h = self.last.box
        if len(self.observations) < 2:
            return x, y, w, h
        prev = self.observations[-2]
        dt = self.last.mono - prev.mono
        if dt <= 0:
            return x, y, w, h
        k = (mono - self.last.mono) / dt
        return x + (x - prev.box[0]) * k, y + (y - prev.box[1]) * k, w, h


def iou(a, b) -> float:
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    ix = max(0.0, min(ax0 + aw, bx0 + bw) - max(ax0, bx0))
    iy = max(0.0, min(ay0 + ah, by0 + bh) - max(ay0, by0))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def centre_gap(a, b) -> float:
    """Distance between box centres in units of the larger box width."""
    dx = (a[0] + a[2] / 2) - (b[0] + b[2] / 2)
    dy = (a[1] + a[3] / 2) - (b[1] + b[3] / 2)
    return math.hypot(dx, dy) / max(a[2], b[2], 1.0)


def vote(observations: list[Observation]) -> tuple[str, float, tuple[float, ...]]:
    """Confidence-weighted vote per character position: (text, confidence, per-char conf).

    The length is voted first (sum of mean char confidences per length); then each position
    takes the character with the largest summed confidence among readings of that length.
    A position's confidence is its winner's summed confidence over all those readings.
    """
    by_len: dict[int, list[Observation]] = defaultdict(list)
    weight: dict[int, float] = defaultdict(float)
    for o in observations:
        if o.text:
            by_len[len(o.text)].append(o)
            weight[len(o.text)] += float(np.mean(o.char_conf)) if o.char_conf else 0.0
    if not by_len:
        return "", 0.0, ()
    n = max(weight, key=lambda k: (weight[k], len(by_len[k])))
    group = by_len[n]
    chars, confs = [], []
    for i in range(n):
        tally: dict[str, float] = defaultdict(float)
        for o in group:
            tally[o.text[i]] += o.char_conf[i] if i < len(o.char_conf) else 0.0
        ch = max(tally, key=lambda c: tally[c])
        chars.append(ch)
        confs.append(tally[ch] / len(group))
    length_share = weight[n] / max(sum(weight.values()), 1e-9)
    conf = float(np.prod(confs)) * length_share
    return "".join(chars), conf, tuple(round(c, 4) for c in confs)


def direction(observations: list[Observation]) -> str:
    """approaching / receding from growth of the plate, else left / right from its motion."""
    if len(observations) < 2:
        return "unknown"
    first, last = observations[0].box, observations[-1].box
    growth = math.log(max(last[2], 1.0) / max(first[2], 1.0))
    mean_w = (first[2] + last[2]) / 2
    shift = ((last[0] + last[2] / 2) - (first[0] + first[2] / 2)) / max(mean_w, 1.0)
    if abs(growth) > 0.15 and abs(growth) * 3 >= abs(shift):
        return "approaching" if growth > 0 else "receding"
    if abs(shift) >= 0.5:
        return "right" if shift > 0 else "left"
    return "unknown"


def _jpeg(img: np.ndarray | None, quality: int = 85) -> bytes | None:
    if img is None or img.size == 0:
        return None
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else None


class Tracker:
    """Associates observations into tracks and emits one Read per closed track."""

    def __init__(
        self,
        *,
        timeout_s: float = 1.0,
        repeat_window_s: float = 30.0,
        top_n: int = 5,
        region: str = "us",
        min_frames: int = 1,
    ):
        self.timeout_s, self.repeat_window_s = timeout_s, repeat_window_s
        self.top_n, self.region, self.min_frames = top_n, region, min_frames
        self._tracks: list[Track] = []
        self._recent: dict[str, float] = {}  # plate -> mono time of its last emitted sighting
        self.suppressed = 0

    @property
    def open_tracks(self) -> int:
        return len(self._tracks)

    def update(
        self, observations: list[Observation], mono: float, clock_synced: bool = True
    ) -> list[Read]:
        """Add one frame's observations (taken at `mono`); return reads of tracks that ended."""
        # Close timed-out tracks first: frames may stop for longer than the timeout (the motion
        # gate passes none while nothing moves), and the next car's plate must not join the
        # previous car's track just because it appears where that one was last seen.
        ended = [t for t in self._tracks if mono - t.last.mono > self.timeout_s]
        self._tracks = [t for t in self._tracks if t not in ended]
        pairs = []
        for ti, t in enumerate(self._tracks):
            pred = t.predicted_box(mono)
            for oi, o in enumerate(observations):
                ov, gap = iou(pred, o.box), centre_gap(pred, o.box)
                if ov >= MIN_IOU or gap <= MAX_GAP_WIDTHS:
                    pairs.append((ov - gap, ti, oi))
        used_t, used_o = set(), set()
        for _, ti, oi in sorted(pairs, reverse=True):
            if ti in used_t or oi in used_o:
                continue
            used_t.add(ti)
            used_o.add(oi)
            self._tracks[ti].add(observations[oi])
            self._tracks[ti].clock_synced &= clock_synced
        for oi, o in enumerate(observations):
            if oi not in used_o:
                track = Track(clock_synced=clock_synced)
                track.add(o)
                self._tracks.append(track)
        return self._close(ended)

    def flush(self) -> list[Read]:
        """Close every open track (shutdown, end of a file)."""
        ended, self._tracks = self._tracks, []
        return self._close(ended)

    def _close(self, tracks: list[Track]) -> list[Read]:
        reads = []
        for t in sorted(tracks, key=lambda t: t.observations[0].mono):
            read = self._read(t)
            if read is not None:
                reads.append(read)
        return reads

    def _read(self, t: Track) -> Read | None:
        obs = t.observations
        if len(obs) < self.min_frames:
            return None
        plate, conf, char_conf = vote(obs)
        if not plate:
            return None
        first, last = obs[0], obs[-1]
        seen = self._recent.get(plate)
        self._recent = {
            p: m for p, m in self._recent.items() if last.mono - m <= self.repeat_window_s
        }
        self._recent[plate] = last.mono
        if seen is not None and first.mono - seen <= self.repeat_window_s:
            self.suppressed += 1
            logger.info("suppressed repeat read of a plate within %.0f s", self.repeat_window_s)
            return None
        best = t.best or obs[0]
        return Read(
            read_id=uuid.uuid4().hex,
            plate=plate,
            confidence=round(conf, 4),
            candidates=self._candidates(plate, conf, obs),
            first_seen_wall=first.wall,
            last_seen_wall=last.wall,
            first_seen_mono=first.mono,
            last_seen_mono=last.mono,
            clock_synced=t.clock_synced,
            frames_used=len(obs),
            direction=direction(obs),
            box=tuple(float(v) for v in best.box),
            region=matching_region(plate, self.region),
            crop_jpeg=_jpeg(best.crop),
            frame_jpeg=_jpeg(best.frame, 75),
            extra={"char_conf": list(char_conf), "frame_texts": [o.text for o in obs][:50]},
        )

    def _candidates(self, plate: str, conf: float, obs: list[Observation]) -> tuple[Candidate, ...]:
        """Voted text first, then every frame's alternatives by mean confidence over frames."""
        score: dict[str, float] = defaultdict(float)
        region: dict[str, str | None] = {}
        for o in obs:
            for c in o.candidates:
                score[c.text] += c.confidence / len(obs)
                region.setdefault(c.text, c.region)
        out = [Candidate(plate, round(conf, 4), matching_region(plate, self.region))]
        for text in sorted(score, key=lambda k: -score[k]):
            if text != plate and len(out) < self.top_n:
                out.append(Candidate(text, round(min(1.0, score[text]), 4), region[text]))
        return tuple(out)
