"""Corner accuracy of a detector model, which the real scenes cannot measure (their labels are
axis-aligned boxes): rendered plates with exact corners pasted in perspective onto the
validation scenes (backgrounds the detector never trained on), one per frame, frames resized to
1280x720. The plates come from the renderer with a seed of their own (not the training pool).

    python -m inference.training.detector_corners [--model detector_int8.tflite] [--data DIR]

Prints the share of pasted plates found (IoU >= 0.3) and the corner error of the found ones:
mean distance of the four corners to the true ones, in % of the plate width and in pixels;
last line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import cv2
import numpy as np

logger = logging.getLogger(__name__)

FRAME = (1280, 720)


def corner_frames(data: Path, passes: int = 2, seed: int = 2026):
    """(gray 1280x720 frame, true quad (4, 2)) pairs, deterministic for a seed."""
    from inference.eval_data import load_scenes
    from inference.training.detector_render import plate_pool
    from inference.training.scenes import _overlaps, _paste_quad, box_quad, paste

    items = load_scenes(data / "scenes", "val")
    pool = plate_pool(n=len(items) * passes, seed=seed)
    rng = np.random.default_rng(seed)
    for i, (plate, src) in enumerate(pool):
        item = items[i % len(items)]
        img = cv2.imread(str(item.path), cv2.IMREAD_GRAYSCALE)
        k = np.array(FRAME, np.float32) / img.shape[::-1]
        frame = cv2.resize(img, FRAME, interpolation=cv2.INTER_AREA)
        labelled = [box_quad(p.box) * k for p in item.plates]
        aspect = np.ptp(src[:, 0]) / max(np.ptp(src[:, 1]), 1)
        for _ in range(20):  # a place away from the scene's own plates
            quad = _paste_quad(rng, 500, aspect, min_w=60)  # width 60-400 px
            quad -= quad.min(0)
            quad += rng.uniform(0, 1, 2) * (np.array(FRAME) - quad.max(0) - 1)
            if not _overlaps(quad, labelled):
                break
        else:
            continue
        paste(rng, frame, plate, quad, src)
        yield frame, quad


def measure(detector, frames) -> dict:
    from inference.detector import iou_xywh

    found, errs_pct, errs_px, n = 0, [], [], 0
    for frame, quad in frames:
        n += 1
        box = np.array([*quad.min(0), *np.ptp(quad, 0)], np.float32)
        dets = detector.detect(frame)
        if not dets:
            continue
        ious = iou_xywh(np.array([d.box for d in dets], np.float32), box)[:, 0]
        j = int(np.argmax(ious))
        if ious[j] < 0.3 or dets[j].corners is None:
            continue
        found += 1
        err = np.linalg.norm(np.asarray(dets[j].corners) - quad, axis=1).mean()
        errs_px.append(float(err))
        errs_pct.append(float(100 * err / box[2]))
    return {"plates": n, "found": found, "recall": round(found / max(n, 1), 4),
            "corner_err_pct_median": round(float(np.median(errs_pct)), 2) if errs_pct else None,
            "corner_err_pct_mean": round(float(np.mean(errs_pct)), 2) if errs_pct else None,
            "corner_err_px_median": round(float(np.median(errs_px)), 2) if errs_px else None}


def main(argv: list[str] | None = None) -> None:
    from inference.detector import Detector

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="detector_int8.tflite")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--passes", type=int, default=2)
    args = parser.parse_args(argv)
    det = Detector(args.model, num_threads=1, threshold=args.threshold)
    res = measure(det, corner_frames(args.data, args.passes))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
