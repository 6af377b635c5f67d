"""Plate OCR: runs the CTC TFLite model on a rectified crop and decodes its columns.

The model gives one probability distribution (alphabet + blank) per 4-pixel column of the crop.
The read is the greedy CTC path (argmax per column, repeats collapsed, blanks dropped); a
character's confidence is its best column's probability; alternatives come from a CTC prefix
beam search (pruned to the likely classes of each column), with string probabilities.
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.formats import ALPHABET
from inference.rectify import OCR_SIZE

logger = logging.getLogger(__name__)

BLANK_CHAR = "_"
SYMBOLS = ALPHABET + BLANK_CHAR
MODELS_DIR = Path(__file__).with_name("models")
MANIFEST = MODELS_DIR / "ocr.manifest.json"


@dataclass(frozen=True)
class OcrResult:
    text: str  # best reading, A-Z0-9 (may be empty when the model sees only pads)
    char_conf: tuple[float, ...]  # one per character of `text`
    confidence: float  # probability of `text` under the model (sum over its CTC paths)
    alternatives: tuple[tuple[str, float], ...]  # best first, alternatives[0][0] == text
    probs: np.ndarray  # (len(text), len(SYMBOLS)): each character's column distribution
    # (first, last, columns): the first and last column the greedy path reads a character in,
    # and the number of columns; a character at the crop's very edge may be cut or not one at all
    span: tuple[int, int, int] = (0, 0, 0)

    def touches_edge(self, columns: int = 1) -> bool:
        """True when a character is read within `columns` of either end of the crop."""
        first, last, n = self.span
        return bool(self.text) and (first < columns or last >= n - columns)


def normalise_contrast(gray: np.ndarray) -> np.ndarray:
    """Stretch the 2nd..98th percentile to 0..255 (dark IR frames and washed-out days alike)."""
    lo, hi = np.percentile(gray, (2, 98))
    if hi - lo < 8:
        return gray
    f = (gray.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(f, 0, 255).astype(np.uint8)


BLANK = len(SYMBOLS) - 1


def beam_search(probs: np.ndarray, top_n: int = 5, width: int = 8,
                prune: float = 1e-3) -> list[tuple[str, float]]:
    """The `top_n` likeliest strings under CTC (prefix beam search), best first."""
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (1.0, 0.0)}  # (p_blank, p_char)
    for row in np.asarray(probs, np.float64):
        cands = np.nonzero(row > prune)[0]
        nxt: dict[tuple[int, ...], list[float]] = {}
        for prefix, (pb, pc) in beams.items():
            for c in cands:
                p = row[c]
                if c == BLANK:
                    nxt.setdefault(prefix, [0.0, 0.0])[0] += (pb + pc) * p
                    continue
                new = prefix + (int(c),)
                if prefix and prefix[-1] == c:  # a repeat needs a blank between the two
                    nxt.setdefault(new, [0.0, 0.0])[1] += pb * p
                    nxt.setdefault(prefix, [0.0, 0.0])[1] += pc * p
                else:
                    nxt.setdefault(new, [0.0, 0.0])[1] += (pb + pc) * p
        top = heapq.nlargest(width, nxt.items(), key=lambda kv: kv[1][0] + kv[1][1])
        beams = {k: (v[0], v[1]) for k, v in top}
    ranked = sorted(((sum(v), k) for k, v in beams.items() if k and sum(v) > 0), reverse=True)
    return [("".join(SYMBOLS[c] for c in k), float(p)) for p, k in ranked[:top_n]]


def greedy(probs: np.ndarray) -> tuple[str, tuple[float, ...], np.ndarray]:
    """Best path: (text, per-character confidence, per-character distributions (n, classes))."""
    idx = probs.argmax(axis=1)
    chars: list[int] = []
    confs: list[float] = []
    rows: list[np.ndarray] = []
    prev = BLANK
    for t, c in enumerate(idx):
        if c != BLANK and c != prev:
            chars.append(int(c))
            confs.append(float(probs[t, c]))
            rows.append(probs[t])
        elif c != BLANK and probs[t, c] > confs[-1]:  # same character, a surer column
            confs[-1] = float(probs[t, c])
            rows[-1] = probs[t]
        prev = c
    text = "".join(SYMBOLS[c] for c in chars)
    char_probs = np.stack(rows) if rows else np.zeros((0, probs.shape[1]), np.float32)
    return text, tuple(confs), char_probs


def decode(probs: np.ndarray, top_n: int = 5) -> OcrResult:
    probs = np.asarray(probs, np.float32)
    text, conf, char_probs = greedy(probs)
    read = np.nonzero(probs.argmax(axis=1) != BLANK)[0]
    span = (int(read[0]), int(read[-1]), len(probs)) if len(read) else (0, 0, len(probs))
    alts = beam_search(probs, top_n) if text else []
    p_text = next((p for t, p in alts if t == text), float(np.prod(conf)) if conf else 0.0)
    if text and (not alts or alts[0][0] != text):
        alts = [(text, p_text)] + [a for a in alts if a[0] != text][: top_n - 1]
    return OcrResult(text, conf, min(1.0, p_text), tuple(alts), char_probs, span)


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
        """Column probabilities (columns, classes) for one (48, 144) uint8 crop."""
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
