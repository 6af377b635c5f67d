"""Plate OCR: runs the fixed-slot TFLite model on a rectified crop and decodes its slots.

The model gives one probability distribution per character slot (alphabet + pad). The read is
the per-slot argmax with pads dropped; per-character confidence is that slot's probability;
alternatives come from a beam search over the slot distributions (product of probabilities),
merged by final string.
"""

from __future__ import annotations

import heapq
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.formats import ALPHABET
from inference.rectify import OCR_SIZE

logger = logging.getLogger(__name__)

PAD_CHAR = "_"
SYMBOLS = ALPHABET + PAD_CHAR
MODELS_DIR = Path(__file__).with_name("models")
MANIFEST = MODELS_DIR / "ocr.manifest.json"


@dataclass(frozen=True)
class OcrResult:
    text: str  # best reading, A-Z0-9 (may be empty when the model sees only pads)
    char_conf: tuple[float, ...]  # one per character of `text`
    confidence: float  # probability of `text` (product over slots, pads included)
    alternatives: tuple[tuple[str, float], ...]  # best first, alternatives[0][0] == text
    probs: np.ndarray  # (slots, len(SYMBOLS)) slot probabilities


def normalise_contrast(gray: np.ndarray) -> np.ndarray:
    """Stretch the 2nd..98th percentile to 0..255 (dark IR frames and washed-out days alike)."""
    lo, hi = np.percentile(gray, (2, 98))
    if hi - lo < 8:
        return gray
    f = (gray.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(f, 0, 255).astype(np.uint8)


def beam_search(probs: np.ndarray, top_n: int = 5, width: int = 12) -> list[tuple[str, float]]:
    """The `top_n` likeliest strings under independent slots; pads drop out of the string."""
    logp = np.log(np.clip(probs, 1e-9, 1.0))
    beams: list[tuple[float, tuple[int, ...]]] = [(0.0, ())]
    for slot in logp:
        best = np.argsort(slot)[::-1][:width]
        cand = [(s + float(slot[c]), seq + (int(c),)) for s, seq in beams for c in best]
        beams = heapq.nlargest(width, cand, key=lambda t: t[0])
    merged: dict[str, float] = {}
    for s, seq in beams:
        text = "".join(SYMBOLS[c] for c in seq if SYMBOLS[c] != PAD_CHAR)
        merged[text] = merged.get(text, 0.0) + math.exp(s)
    ranked = sorted(merged.items(), key=lambda kv: -kv[1])
    return [(t, p) for t, p in ranked if t][:top_n]


def decode(probs: np.ndarray, top_n: int = 5) -> OcrResult:
    probs = np.asarray(probs, np.float32)
    idx = probs.argmax(axis=1)
    keep = [i for i, c in enumerate(idx) if SYMBOLS[c] != PAD_CHAR]
    text = "".join(SYMBOLS[idx[i]] for i in keep)
    conf = tuple(float(probs[i, idx[i]]) for i in keep)
    seq_p = float(np.prod(probs[np.arange(len(idx)), idx]))
    alts = beam_search(probs, top_n) if text else []
    if text and (not alts or alts[0][0] != text):
        alts = [(text, seq_p)] + [a for a in alts if a[0] != text][: top_n - 1]
    return OcrResult(text, conf, seq_p, tuple(alts), probs)


class PlateReader:
    """The OCR model behind the runtime wrapper; `read(crop)` on a rectified grayscale crop."""

    def __init__(
        self,
        model: str | Path = "ocr_int8.tflite",
        num_threads: int = 1,
        manifest: Path | None = None,
        top_n: int = 5,
    ):
        from inference.runtime import Model

        self._model = Model(_resolve(model), manifest or MANIFEST, num_threads=num_threads)
        self.top_n = top_n
        shape = self._model.input_spec.shape
        if shape[1:3] != (OCR_SIZE[1], OCR_SIZE[0]):
            raise ValueError(f"OCR model input {shape} does not match crops of {OCR_SIZE}")

    def probs(self, crop: np.ndarray) -> np.ndarray:
        """Slot probabilities (slots, classes) for one (48, 144) uint8 crop."""
        if crop.shape != (OCR_SIZE[1], OCR_SIZE[0]):
            raise ValueError(f"crop must be {OCR_SIZE[1]}x{OCR_SIZE[0]} gray, got {crop.shape}")
        x = normalise_contrast(crop)[None, :, :, None].astype(np.float32)
        return self._model.run(x)[0][0]

    def read(self, crop: np.ndarray) -> OcrResult:
        return decode(self.probs(crop), self.top_n)

    @property
    def version(self) -> str | None:
        return self._model.version

    def close(self) -> None:
        self._model = None


def _resolve(model: str | Path) -> Path:
    p = Path(model)
    return p if p.is_absolute() or p.exists() else MODELS_DIR / p
