"""Choose the detector's two-tier confirmation on the TRAINING split, never on validation.

The net scores some real plates just under its single operating point (a dark night plate, a
plate at the frame's edge) and some clutter just over it. With a confirmation
(inference.detector.Confirmation) a detection scoring at least `confirm` is kept as before,
and one scoring between `propose` and `confirm` only when the unit's OCR reads a string of at
least `min_chars` characters from it. This tool runs the unit's pipeline once per training
frame at the lowest `propose` of the grid, then counts recall (IoU >= 0.3) and false positives
for every (propose, confirm, min_chars) of the grid; the best F2 wins, as for the single
threshold (inference.training.detector_threshold).

    python -m inference.training.detector_confirm [--model detector_int8.tflite] \\
        [--data ../shared/data] [--record]

--record writes the chosen rule into the manifest beside the model. The rule depends on the
detector's score scale: a retrained detector needs it chosen again (the trainer does not carry
it over). Last line: one JSON object with the sweep and the chosen rule.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from inference.training.detector_threshold import figures

PROPOSE = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45)  # propose == confirm: one threshold
CONFIRM = (0.45, 0.5, 0.55, 0.6)
MIN_CHARS = (3, 4, 5)


def collect(items, detector, recognizer) -> list[tuple[np.ndarray, list[tuple]]]:
    """Per image: the labelled boxes and every detection at the detector's (low) threshold as
    (box, score, text or None)."""
    import cv2

    out = []
    for item in items:
        image = cv2.imread(str(item.path), cv2.IMREAD_COLOR)
        dets = detector.detect(image)
        reads = recognizer.read_detections(image, dets)
        gt = np.array([p.box for p in item.plates], np.float32).reshape(-1, 4)
        out.append((gt, [(d.box, d.score, r.text if r else None)
                         for d, r in zip(dets, reads, strict=True)]))
    return out


def sweep(found, grid=None) -> list[dict]:
    """Recall, FP per image and F2 for each (propose, confirm, min_chars) of the grid."""
    from inference.detector import Confirmation
    from inference.eval_data import match

    grid = grid or [(p, c, m) for p, c, m in itertools.product(PROPOSE, CONFIRM, MIN_CHARS)
                    if p <= c]
    n_plates = sum(len(gt) for gt, _ in found)
    rows = []
    for p, c, m in grid:
        rule = Confirmation(p, c, m)
        detected = fps = 0
        for gt, dets in found:
            boxes = np.array([b for b, s, t in dets if s >= p and rule.keeps(s, t)],
                             np.float32).reshape(-1, 4)
            assigned, fp = match(boxes, gt, 0.3)
            detected, fps = detected + int(np.count_nonzero(assigned >= 0)), fps + fp
        row = figures(c, detected, fps, n_plates, len(found))
        row.pop("threshold")
        rows.append({"propose": p, "confirm": c, "min_chars": m, **row})
    return rows


def choose(rows: list[dict]) -> dict:
    """Best F2; on a tie the stricter rule (higher propose, more characters, higher confirm)."""
    best = max(rows, key=lambda r: (r["f2"], r["propose"], r["min_chars"], r["confirm"]))
    return {k: best[k] for k in ("propose", "confirm", "min_chars")}


def main(argv: list[str] | None = None) -> None:
    from inference.detector import MANIFEST, Detector
    from inference.eval_data import load_scenes
    from inference.ocr import DEFAULT_MODELS, PlateReader
    from inference.pipeline import PlateRecognizer
    from inference.tracker import Tracker
    from inference.training.export import save_manifest

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="detector_int8.tflite")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--record", action="store_true",
                        help="write the chosen rule into the manifest beside the model")
    args = parser.parse_args(argv)
    det = Detector(args.model, num_threads=1, threshold=min(PROPOSE))
    rec = PlateRecognizer(det, PlateReader(DEFAULT_MODELS), Tracker(region="auto"),
                          region="auto")
    rows = sweep(collect(load_scenes(args.data / "scenes", "train"), det, rec))
    baseline = det.model.manifest.get("default_threshold")
    for r in rows:
        print(f"propose {r['propose']:.2f} confirm {r['confirm']:.2f} min_chars {r['min_chars']}:"
              f" recall {r['recall']:.3f}  fp/image {r['fp_per_image']:.3f}  F2 {r['f2']:.3f}")
    chosen = choose(rows)
    if args.record:
        path = det.model.path.parent / MANIFEST.name
        manifest = json.loads(path.read_text())
        keys = ("recall", "fp_per_image", "f2")
        row = next(r for r in rows if all(r[k] == v for k, v in chosen.items()))
        single = [r for r in rows if r["propose"] == r["confirm"] == baseline]
        manifest["confirmation"] = {
            **chosen, "training_split": {k: row[k] for k in keys},
            "single_threshold_training_split": {k: single[0][k] for k in keys}
            if single else None,
            "chosen_by": "python -m inference.training.detector_confirm (training split, best "
                         "F2, shipped OCR, region auto)"}
        save_manifest(path, manifest)
    print(json.dumps({"split": "train", "single_threshold": baseline, "sweep": rows,
                      "chosen": chosen}))


if __name__ == "__main__":
    main()
