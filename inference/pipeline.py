"""The recognition pipeline: detect -> rectify -> read -> rank -> track.

`PlateRecognizer` implements inference.recognizer.Recognizer for the capture loop (frames in,
one Read per vehicle pass out) and offers `read_image` for single images (`alpr eval`).
`build_recognizer(config)` wires the shipped models from a RecognitionConfig-like object.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, replace
from typing import Protocol

import cv2
import numpy as np

from inference import formats
from inference.ocr import OcrResult, PlateReader, shipped_models
from inference.rectify import grow_quad, rectify
from inference.tracker import Observation, Tracker
from inference.types import Candidate, Detection, Read

logger = logging.getLogger(__name__)

MIN_MEAN_CHAR_CONF = 0.3  # below this a "plate" is most likely a sign, a grille or a sticker
OVERVIEW_WIDTH = 640  # evidence overview image width
CROP_MARGIN = 0.04  # context kept round the detector's corners (fraction of the plate width)


@dataclass(frozen=True)
class CropView:
    """One way to cut a detected plate for the OCR: the corner quad grown by `grow_x` of its
    width on each side and `grow_y` of its height, then `margin` kept round it."""

    name: str
    margin: float
    grow_x: float = 0.0
    grow_y: float = 0.0

    def cut(self, image: np.ndarray, det: Detection) -> np.ndarray:
        corners = det.corners
        if corners is not None and (self.grow_x or self.grow_y):
            corners = grow_quad(corners, self.grow_x, self.grow_y)
        box = det.box
        if corners is None and (self.grow_x or self.grow_y):
            x, y, w, h = box
            box = (x - self.grow_x * w, y - self.grow_y * h,
                   w * (1 + 2 * self.grow_x), h * (1 + 2 * self.grow_y))
        return rectify(image, corners, box, margin=self.margin)


# The first view is always read; the others only for a second look when the first reading is
# unsure (see SECOND_LOOK_BELOW) or reads a character at the crop's very edge (cut by corners
# inside the plate, or the plate's edge or frame read as a character), so a clear plate costs
# one OCR run.
VIEWS = (CropView("corners", CROP_MARGIN), CropView("wide", 0.02, 0.06, 0.10))
SECOND_LOOK_BELOW = 0.8  # string probability under which the other views are read too
EDGE_COLUMNS = 1  # a character read this close to a crop end triggers the second look


class PlateDetector(Protocol):
    """inference.detector.Detector's contract. A detector may also carry a `confirmation`
    (inference.detector.Confirmation): then the recogniser asks it for detections down to
    `confirmation.propose` and keeps the low-scoring ones only when they read as a plate.
    (A plate verifier, when the detector has one, acts inside `detect`.)"""

    def detect(self, image: np.ndarray, threshold: float | None = None) -> list[Detection]: ...


class Reader(Protocol):
    def read(self, crop: np.ndarray) -> OcrResult: ...


@dataclass(frozen=True)
class PlateReading:
    """One plate in one image: where, what the OCR saw, and the format-ranked candidates."""

    detection: Detection
    ocr: OcrResult
    candidates: tuple[Candidate, ...]

    @property
    def text(self) -> str:
        return self.candidates[0].text if self.candidates else ""


def top_candidate(reading: PlateReading | None) -> tuple[str | None, float]:
    """What the confirmation weighs: the top candidate and its confidence (None, 0: unread)."""
    if reading is None or not reading.candidates:
        return None, 0.0
    return reading.candidates[0].text, reading.candidates[0].confidence


def colour_crop(image: np.ndarray, box, margin: float = 0.1) -> np.ndarray:
    """The plate's box with a margin, in colour, for the evidence record."""
    h, w = image.shape[:2]
    x, y, bw, bh = box
    x0, y0 = int(max(0, x - margin * bw)), int(max(0, y - margin * bh))
    x1, y1 = int(min(w, x + bw * (1 + margin))), int(min(h, y + bh * (1 + margin)))
    return image[y0:y1, x0:x1].copy()


class PlateRecognizer:
    """Recognizer over an injected detector, reader and tracker."""

    def __init__(
        self,
        detector: PlateDetector,
        reader: Reader,
        tracker: Tracker,
        *,
        region: str = "us",
        top_n: int = 5,
        views: tuple[CropView, ...] = VIEWS,
        second_look_below: float = SECOND_LOOK_BELOW,
    ):
        formats.patterns_for(region)  # fail early on an unknown region
        self.detector, self.reader, self.tracker = detector, reader, tracker
        self.region, self.top_n = region, top_n
        if not views:
            raise ValueError("PlateRecognizer needs at least one crop view")
        self.views, self.second_look_below = tuple(views), second_look_below
        self.second_looks = 0  # detections that needed more than one view (a counter for stats)
        self._last: tuple = ()
        # Interpreters and the tracker are not thread-safe; capture workers may share us.
        self._lock = threading.Lock()

    def read_image(self, image: np.ndarray) -> list[PlateReading]:
        """Detect, rectify, read and rank every plate in one BGR image (no tracking)."""
        return [r for _, r in self.find(image) if r is not None]

    def find(self, image: np.ndarray) -> list[tuple[Detection, PlateReading | None]]:
        """The plates of one image: each kept detection with its reading (None where nothing
        plate-like was read), best score first. The detector applies its own operating point,
        or its two-tier confirmation when it has one."""
        confirmation = getattr(self.detector, "confirmation", None)
        if confirmation is None:
            dets = self.detector.detect(image)
            return list(zip(dets, self.read_detections(image, dets), strict=True))
        dets = self.detector.detect(image, threshold=confirmation.propose)
        return [(d, r) for d, r in zip(dets, self.read_detections(image, dets), strict=True)
                if confirmation.keeps(d.score, *top_candidate(r))]

    def read_detections(self, image: np.ndarray,
                        detections: list[Detection]) -> list[PlateReading | None]:
        """Rectify, read and rank each detection; None where nothing plate-like was read."""
        return [self._read_one(image, det) for det in detections]

    def _read_one(self, image: np.ndarray, det: Detection) -> PlateReading | None:
        """Read the first view; when unsure, the others too, and keep the most plausible."""
        readings: list[PlateReading] = []
        for i, view in enumerate(self.views):
            if i == 1:
                if readings and not self._unsure(readings[0]):
                    break
                self.second_looks += 1
            reading = self._read_view(image, det, view)
            if reading is not None:
                readings.append(reading)
        if len(readings) < 2:
            return readings[0] if readings else None
        best = max(readings, key=lambda r: _plausibility(r.candidates[0]))
        return PlateReading(det, best.ocr, self._merged(best, readings))

    def _merged(self, best: PlateReading, readings: list[PlateReading]) -> tuple[Candidate, ...]:
        """The best view's candidates in their order, then the other views' ones (by
        plausibility) while there is room: hotlist matching gets both cuts' alternatives."""
        seen = {c.text for c in best.candidates}
        others = sorted((c for r in readings if r is not best for c in r.candidates
                         if c.text not in seen), key=_plausibility, reverse=True)
        out = list(best.candidates)
        for c in others:
            if len(out) >= self.top_n:
                break
            if c.text not in seen:
                seen.add(c.text)
                out.append(c)
        return tuple(out)

    def _unsure(self, r: PlateReading) -> bool:
        return (r.candidates[0].confidence < self.second_look_below
                or r.ocr.touches_edge(EDGE_COLUMNS))

    def _read_view(self, image: np.ndarray, det: Detection,
                   view: CropView) -> PlateReading | None:
        try:
            crop = view.cut(image, det)
        except ValueError as exc:
            logger.debug("skipping detection %s: %s", det.box, exc)
            return None
        res = self.reader.read(crop)
        if not res.text or np.mean(res.char_conf) < MIN_MEAN_CHAR_CONF:
            return None
        cands = formats.rank(res.alternatives, self.region, res.probs, self.top_n, res.text)
        return PlateReading(det, res, tuple(cands)) if cands else None

    def last_detections(self) -> tuple:
        """Plates of the last processed frame for the console overlay: ((x, y, w, h), best text
        or None where nothing was read, detection score) each."""
        return self._last

    def process(
        self, image: np.ndarray, wall_time: float, mono_time: float, clock_synced: bool
    ) -> list[Read]:
        with self._lock:
            return self._process(image, wall_time, mono_time, clock_synced)

    def _process(self, image: np.ndarray, wall_time: float, mono_time: float,
                 clock_synced: bool) -> list[Read]:
        found = self.find(image)
        self._last = tuple(
            (tuple(float(v) for v in d.box), r.text if r else None, float(d.score))
            for d, r in found
        )
        readings = [r for _, r in found if r is not None]
        overview = None
        if readings:
            f = OVERVIEW_WIDTH / max(1, image.shape[1])
            overview = (
                cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
                if f < 1
                else image.copy()
            )
        obs = [
            Observation(
                box=r.detection.box,
                wall=wall_time,
                mono=mono_time,
                candidates=r.candidates,
                char_conf=self._char_conf(r),
                score=r.detection.score,
                crop=colour_crop(image, r.detection.box),
                frame=overview,
            )
            for r in readings
        ]
        return self._stamped(self.tracker.update(obs, mono_time, clock_synced))

    @staticmethod
    def _char_conf(r: PlateReading) -> tuple[float, ...]:
        """Per-character confidence of the ranked best text (its own slot probabilities)."""
        text = r.text
        if text == r.ocr.text:
            return r.ocr.char_conf
        probs = r.ocr.probs
        return tuple(
            float(probs[i, formats.ALPHABET.index(c)]) if i < len(probs) else 0.0
            for i, c in enumerate(text)
        )

    def flush(self) -> list[Read]:
        with self._lock:
            return self._stamped(self.tracker.flush())

    def models(self) -> dict:
        """The models behind this recognizer's reads, stamped on each as `Read.extra["models"]`:
        an evidence record names what produced it, and a model update shows in the records
        (a read carries the models in use when its track closed)."""
        out: dict = {"region": self.region}
        model = getattr(self.detector, "model", None)
        if model is not None:
            out["detector"] = {"file": model.path.name, "version": model.version}
        names = getattr(self.reader, "models", None)
        if names:
            out["ocr"] = {"files": list(names), "version": getattr(self.reader, "version", None)}
        return out

    def _stamped(self, reads: list[Read]) -> list[Read]:
        if not reads:
            return reads
        models = self.models()
        return [replace(r, extra={**r.extra, "models": models}) for r in reads]

    def close(self) -> None:
        for part in (self.reader, self.detector):
            close = getattr(part, "close", None)
            if close:
                close()


def _plausibility(c: Candidate) -> float:
    """Log-probability of a candidate, plus the format bonus when it fits a pattern."""
    return math.log(max(c.confidence, 1e-12)) + (formats.PATTERN_BONUS if c.region else 0.0)


def build_recognizer(config) -> PlateRecognizer:
    """The shipped pipeline from a RecognitionConfig (appliance.config.recognition)."""
    from inference.detector import Detector

    threads = int(config.num_threads)
    # OpenCV's own pool (letterbox resize, perspective warps) would otherwise take every core
    # beside the interpreters: recognition uses the threads the config gives it, no more
    cv2.setNumThreads(threads)
    score = config.min_detection_score  # None: the model's own operating point
    detector = Detector(config.detector_model, num_threads=threads,
                        threshold=None if score is None else float(score))
    models = config.ocr_model or shipped_models(config.region)
    reader = PlateReader(models, num_threads=threads, top_n=int(config.top_n))
    tracker = Tracker(
        timeout_s=float(config.track_timeout_s),
        repeat_window_s=float(config.repeat_window_s),
        top_n=int(config.top_n),
        region=config.region,
        min_frames=int(getattr(config, "min_track_frames", 1)),
    )
    return PlateRecognizer(
        detector,
        reader,
        tracker,
        region=config.region,
        top_n=int(config.top_n),
    )
