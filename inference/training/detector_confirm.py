"""Choose the detector's two-tier confirmation on the TRAINING split, never on validation.

The net scores some real plates just under its single operating point (a dark night plate, a
plate at the frame's edge) and some clutter just over it. With a confirmation
(inference.detector.Confirmation) a detection scoring at least `confirm` is kept as before,
and one scoring between `propose` and `confirm` only when the unit's OCR reads a string of at
least `min_chars` characters from it with a confidence of at least `min_confidence`. This tool
runs the unit's pipeline once per training frame at the lowest `propose` of the grid, then
counts recall (IoU >= 0.3) and false positives for every (propose, confirm, min_chars,
min_confidence) of the grid; the best F2 wins, as for the single threshold
(inference.training.detector_threshold). With --extra-plates (docs/eval/scene_extra_plates.json)
a detection on a plate the labels leave out is neither a hit nor a false positive: a rule is
not rewarded for dropping real plates.

    python -m inference.training.detector_confirm [--model detector_int8.tflite] \\
        [--data ../shared/data] [--extra-plates JSON] [--record]

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
MIN_CONFIDENCE = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)  # the top candidate's confidence
RULE_KEYS = ("propose", "confirm", "min_chars", "min_confidence")


def collect(items, detector, recognizer, extra=None) -> list[tuple]:
    """Per image: the labelled boxes, every detection at the detector's (low) threshold as
    (box, score, text or None, confidence) and the boxes of the image's extra plates (none
    without `extra`, an inference.eval_data.ExtraPlates)."""
    import cv2

    from inference.pipeline import top_candidate

    out = []
    for item in items:
        image = cv2.imread(str(item.path), cv2.IMREAD_COLOR)
        dets = detector.detect(image)
        reads = recognizer.read_detections(image, dets)
        gt = np.array([p.box for p in item.plates], np.float32).reshape(-1, 4)
        extra_boxes = extra.boxes(item.path.name) if extra is not None else []
        out.append((gt, [(d.box, d.score, *top_candidate(r))
                         for d, r in zip(dets, reads, strict=True)], extra_boxes))
    return out


def sweep(found, grid=None) -> list[dict]:
    """Recall, FP per image and F2 for each (propose, confirm, min_chars, min_confidence) of the
    grid; detections on extra plates count as neither."""
    from inference.detector import Confirmation
    from inference.eval_data import match, on_extra

    grid = grid or [g for g in itertools.product(PROPOSE, CONFIRM, MIN_CHARS, MIN_CONFIDENCE)
                    if g[0] <= g[1]]
    n_plates = sum(len(gt) for gt, _, _ in found)
    rows = []
    for rule_values in grid:
        rule = Confirmation(*rule_values)
        detected = fps = 0
        for gt, dets, extra_boxes in found:
            boxes = np.array([b for b, s, t, c in dets
                              if s >= rule.propose and rule.keeps(s, t, c)],
                             np.float32).reshape(-1, 4)
            assigned, fp = match(boxes, gt, 0.3)
            fp -= on_extra(boxes, assigned, extra_boxes)
            detected, fps = detected + int(np.count_nonzero(assigned >= 0)), fps + fp
        row = figures(rule.confirm, detected, fps, n_plates, len(found))
        row.pop("threshold")
        rows.append({**dict(zip(RULE_KEYS, rule_values, strict=True)), **row})
    return rows


def choose(rows: list[dict]) -> dict:
    """Best F2; on a tie the stricter rule (higher propose, more characters, surer reads,
    higher confirm)."""
    best = max(rows, key=lambda r: (r["f2"], r["propose"], r["min_chars"],
                                    r["min_confidence"], r["confirm"]))
    return {k: best[k] for k in RULE_KEYS}


def main(argv: list[str] | None = None) -> None:
    from inference.detector import MANIFEST, Detector
    from inference.eval_data import load_extra_plates, load_scenes
    from inference.formats import REGION_FAMILIES
    from inference.ocr import PlateReader, shipped_models
    from inference.pipeline import PlateRecognizer
    from inference.tracker import Tracker
    from inference.training.export import save_manifest

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="detector_int8.tflite")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--region", choices=REGION_FAMILIES, default="auto",
                        help="read with this region's shipped reader and formats (default auto)")
    parser.add_argument("--extra-plates", type=Path, default=None, metavar="JSON",
                        help="plates the labels leave out (docs/eval/scene_extra_plates.json): "
                        "detections on them are neither hits nor false positives")
    parser.add_argument("--record", action="store_true",
                        help="write the chosen rule into the manifest beside the model")
    args = parser.parse_args(argv)
    det = Detector(args.model, num_threads=1, threshold=min(PROPOSE))
    rec = PlateRecognizer(det, PlateReader(shipped_models(args.region)),
                          Tracker(region=args.region), region=args.region)
    extra = load_extra_plates(args.extra_plates, "train") if args.extra_plates else None
    rows = sweep(collect(load_scenes(args.data / "scenes", "train"), det, rec, extra))
    baseline = det.model.manifest.get("default_threshold")
    for r in rows:
        print(f"propose {r['propose']:.2f} confirm {r['confirm']:.2f} min_chars {r['min_chars']}"
              f" min_confidence {r['min_confidence']:.3f}: recall {r['recall']:.3f}"
              f"  fp/image {r['fp_per_image']:.3f}  F2 {r['f2']:.3f}")
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
                         "F2, shipped OCR, region " + args.region
                         + (", extra plates neither hits nor false positives)" if extra else ")")}
        save_manifest(path, manifest)
    print(json.dumps({"split": "train", "single_threshold": baseline,
                      "extra_plates": str(args.extra_plates) if extra else None, "sweep": rows,
                      "chosen": chosen}))


if __name__ == "__main__":
    main()
