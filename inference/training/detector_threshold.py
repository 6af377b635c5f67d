"""Choose the detector's operating threshold on the TRAINING split, never on validation.

The detector runs once per full training frame (as `alpr eval` does) at a low threshold; recall
(IoU >= 0.3) and false positives per image are then counted for each threshold of a grid, and
the one with the best F2 score wins (recall weighs twice precision: a missed plate is lost,
while a false positive costs an OCR pass and is mostly dropped by the format check and the
tracker's vote). Training frames are a fair proxy here because the detector trains on patches,
not on these frames: measured, the shipped model's figures on them are no better than on
validation.

    python -m inference.training.detector_threshold [--model detector_int8.tflite] [--data DIR]

Last line: one JSON object with the sweep and the chosen threshold; record it with
`alpr train detector --export-only --threshold T`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

GRID = tuple(round(t, 2) for t in np.arange(0.2, 0.61, 0.05))


def sweep(items, detector, grid=GRID) -> list[dict]:
    """Recall, FP per image and F2 for each threshold; detector.threshold must be <= min(grid)."""
    import cv2

    from inference.eval_data import match

    counts = np.zeros((len(grid), 2), np.int64)  # detected, false positives
    n_plates = 0
    for item in items:
        dets = detector.detect(cv2.imread(str(item.path), cv2.IMREAD_COLOR))
        gt = np.array([p.box for p in item.plates], np.float32).reshape(-1, 4)
        n_plates += len(gt)
        for i, t in enumerate(grid):
            boxes = np.array([d.box for d in dets if d.score >= t], np.float32).reshape(-1, 4)
            assigned, fp = match(boxes, gt, 0.3)
            counts[i] += (int(np.count_nonzero(assigned >= 0)), fp)
    return [figures(t, int(d), int(fp), n_plates, len(items))
            for t, (d, fp) in zip(grid, counts, strict=True)]


def figures(t: float, detected: int, fp: int, plates: int, images: int) -> dict:
    """Recall, false positives per image and F2 of one operating point."""
    recall = detected / max(plates, 1)
    precision = detected / max(detected + fp, 1)
    f2 = 5 * precision * recall / max(4 * precision + recall, 1e-9)
    return {"threshold": t, "recall": round(recall, 4), "fp_per_image": round(fp / images, 4),
            "f2": round(f2, 4)}


def choose(rows: list[dict]) -> float:
    """The threshold with the best F2 (the higher threshold on a tie)."""
    return max(rows, key=lambda r: (r["f2"], r["threshold"]))["threshold"]


def main(argv: list[str] | None = None) -> None:
    from inference.detector import Detector
    from inference.eval_data import load_scenes

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="detector_int8.tflite")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args(argv)
    det = Detector(args.model, num_threads=1, threshold=min(GRID))
    rows = sweep(load_scenes(args.data / "scenes", "train"), det)
    for r in rows:
        print(f"threshold {r['threshold']:.2f}: recall {r['recall']:.3f}  "
              f"fp/image {r['fp_per_image']:.3f}  F2 {r['f2']:.3f}")
    print(json.dumps({"split": "train", "sweep": rows, "chosen": choose(rows)}))


if __name__ == "__main__":
    main()
