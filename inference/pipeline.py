"""The recognition pipeline: detect -> rectify -> read -> rank -> track.

`PlateRecognizer` implements inference.recognizer.Recognizer for the capture loop (frames in,
one Read per vehicle pass out) and offers `read_image` for single images (`alpr eval`).
`build_recognizer(config)` wires the shipped models from a RecognitionConfig-like object.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from inference import formats
from inference.ocr import OcrResult, PlateReader
from inference.rectify import rectify
from inference.tracker import Observation, Tracker
from inference.types import Candidate, Detection, Read

logger = logging.getLogger(__name__)

MIN_MEAN_CHAR_CONF = 0.3  # below this a "plate" is most likely a sign, a grille or a sticker
OVERVIEW_WIDTH = 640  # evidence overview image width
CROP_MARGIN = 0.04  # context kept round the detector's corners (fraction of the plate width)


class PlateDetector(Protocol):
    def detect(self, image: np.ndarray) -> list[Detection]: ...


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
        min_score: float = 0.4,
        margin: float = CROP_MARGIN,
    ):
        formats.patterns_for(region)  # fail early on an unknown region
        self.detector, self.reader, self.tracker = detector, reader, tracker
        self.region, self.top_n, self.min_score = region, top_n, min_score
        self.margin = margin
        # Interpreters and the tracker are not thread-safe; capture workers may share us.
        self._lock = threading.Lock()

    def read_image(self, image: np.ndarray) -> list[PlateReading]:
        """Detect, rectify, read and rank every plate in one BGR image (no tracking)."""
        dets = [d for d in self.detector.detect(image) if d.score >= self.min_score]
        return [r for r in self.read_detections(image, dets) if r is not None]

    def read_detections(self, image: np.ndarray,
                        detections: list[Detection]) -> list[PlateReading | None]:
        """Rectify, read and rank each detection; None where nothing plate-like was read."""
        out: list[PlateReading | None] = []
        for det in detections:
            try:
                crop = rectify(image, det.corners, det.box, margin=self.margin)
            except ValueError as exc:
                logger.debug("skipping detection %s: %s", det.box, exc)
                out.append(None)
                continue
            res = self.reader.read(crop)
            if not res.text or np.mean(res.char_conf) < MIN_MEAN_CHAR_CONF:
                out.append(None)
                continue
            cands = formats.rank(res.alternatives, self.region, res.probs, self.top_n)
            out.append(PlateReading(det, res, tuple(cands)))
        return out

    def process(
        self, image: np.ndarray, wall_time: float, mono_time: float, clock_synced: bool
    ) -> list[Read]:
        with self._lock:
            return self._process(image, wall_time, mono_time, clock_synced)

    def _process(self, image: np.ndarray, wall_time: float, mono_time: float,
                 clock_synced: bool) -> list[Read]:
        readings = self.read_image(image)
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
        return self.tracker.update(obs, mono_time, clock_synced)

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
            return self.tracker.flush()

    def close(self) -> None:
        for part in (self.reader, self.detector):
            close = getattr(part, "close", None)
            if close:
                close()


def build_recognizer(config) -> PlateRecognizer:
    """The shipped pipeline from a RecognitionConfig (appliance.config.recognition)."""
    from inference.detector import Detector

    threads = int(config.num_threads)
    detector = Detector(
        config.detector_model, num_threads=threads, threshold=float(config.min_detection_score)
    )
    reader = PlateReader(config.ocr_model, num_threads=threads, top_n=int(config.top_n))
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
        min_score=float(config.min_detection_score),
    )
