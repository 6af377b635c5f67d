"""Plate verifier: a small classifier that vets the detector's low-scoring detections.

The detector's heatmap scores some real plates (dark, small, square) as low as the clutter it
also proposes (grilles, signs, stickers); no single threshold separates them (docs/detector.md,
"Plate verifier"). The verifier looks again at each detection scoring under the detector's
`vets_below`, on a fixed-size grayscale cut of the box with some surroundings, and keeps it
when its plate probability reaches `min_score`. Detections scoring higher are not vetted.

The verifier's files and operating point live in the detector manifest's `verifier` block
(they are chosen for that detector's score scale, by inference.training.verifier_train); the
files are sha256-checked like every model file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from inference.runtime import Model, ModelError

# Surroundings cut with the box, as a share of its width (each side) and height (above and
# below): a plate is told from a plate-like sticker partly by what is around it.
CONTEXT = (0.25, 0.5)
INPUT = (40, 96)  # h, w of the verifier's input


def plate_crop(gray: np.ndarray, box: Sequence[float], size: tuple[int, int] = INPUT,
               context: tuple[float, float] = CONTEXT) -> np.ndarray:
    """The box with its surroundings, resized to `size` (h, w) uint8; parts outside the frame
    repeat the frame's edge. Raises ValueError for an empty box."""
    x, y, w, h = (float(v) for v in box)
    if not (w > 0 and h > 0):
        raise ValueError(f"empty box {box!r}")
    x0, x1 = x - context[0] * w, x + w * (1 + context[0])
    y0, y1 = y - context[1] * h, y + h * (1 + context[1])
    ix0, iy0 = int(np.floor(x0)), int(np.floor(y0))
    ix1, iy1 = max(ix0 + 1, int(np.ceil(x1))), max(iy0 + 1, int(np.ceil(y1)))
    fh, fw = gray.shape[:2]
    pad = (max(0, -iy0), max(0, iy1 - fh), max(0, -ix0), max(0, ix1 - fw))
    region = gray[max(0, iy0):min(fh, iy1), max(0, ix0):min(fw, ix1)]
    if region.size == 0:  # wholly outside the frame: nothing to vet
        raise ValueError(f"box {box!r} is outside the {fw}x{fh} frame")
    if any(pad):
        region = cv2.copyMakeBorder(region, *pad, cv2.BORDER_REPLICATE)
    out_h, out_w = size
    shrink = region.shape[0] > out_h and region.shape[1] > out_w
    return cv2.resize(region, (out_w, out_h),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


@dataclass(frozen=True)
class VerifierSettings:
    """The manifest's `verifier` block: files per variant and the operating point."""

    files: dict
    min_score: float  # plate probability a vetted detection needs
    vets_below: float  # detections scoring at least this are not vetted
    context: tuple[float, float] = CONTEXT

    @classmethod
    def from_manifest(cls, manifest: dict) -> VerifierSettings | None:
        block = manifest.get("verifier")
        if block is None:
            return None
        try:
            s = cls(dict(block["files"]), float(block["min_score"]), float(block["vets_below"]),
                    tuple(float(v) for v in block.get("context", CONTEXT)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"detector manifest: bad verifier block {block!r}") from exc
        if not 0 <= s.min_score < 1 or not 0 < s.vets_below <= 1 or len(s.context) != 2:
            raise ModelError("detector manifest: verifier needs 0 <= min_score < 1, "
                             f"0 < vets_below <= 1 and two context shares, got {block!r}")
        return s


class Verifier:
    """The verifier model with its operating point; `keep` decides which detections stay."""

    def __init__(self, model: Model, settings: VerifierSettings) -> None:
        shape = model.input_spec.shape
        if len(shape) != 4 or shape[3] != 1:
            raise ModelError(f"{model.path.name}: input {shape} is not a (1, H, W, 1) verifier")
        self.model, self.settings = model, settings
        self.size = (int(shape[1]), int(shape[2]))

    def probability(self, gray: np.ndarray, box: Sequence[float]) -> float:
        """The plate probability of one box of a grayscale frame (0 for a box outside it)."""
        try:
            crop = plate_crop(gray, box, self.size, self.settings.context)
        except ValueError:
            return 0.0
        x = self.model.input_spec.from_u8(crop)[None, :, :, None]
        return float(self.model.run(x)[0].reshape(-1)[0])

    def keep(self, gray: np.ndarray, boxes: Sequence[Sequence[float]],
             scores: Sequence[float]) -> list[bool]:
        """For each detection: kept when it scores at least `vets_below`, or the verifier
        gives its cut at least `min_score`."""
        s = self.settings
        return [score >= s.vets_below or self.probability(gray, box) >= s.min_score
                for box, score in zip(boxes, scores, strict=True)]

    def close(self) -> None:
        self.model.close()
