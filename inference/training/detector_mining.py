"""Hard-negative mining for the detector's stage 3, on the TRAINING split only.

The shipped detector runs over every full training frame at a low threshold; each detection
that overlaps no labelled plate (IoU < MAX_IOU with all of them) is a candidate. Some of those
are real plates that the labels leave out (dash-cam frames label one or two plates each), so
each candidate is read by the shipped OCR (the pipeline's own crop views and format ranking,
region "auto") and sorted:
- "dont_care": the reading looks like a plate (see `likely_plate`), or the frame comes from a
  source whose labels are known to be incomplete (INCOMPLETE_LABELS: the dash-cam frames label
  one or two plates per frame, and the other cars' plates there are mostly 40-60 px, dim or
  blurred, which the OCR cannot read, so an empty reading proves nothing; looked at by eye, a
  good share of those candidates are plates). The trainer neither rewards nor punishes the
  detector there;
- "hard_negative": anything else (badges, model lettering, lamps, logos, signs): the trainer
  centres a share of its patches on these, where they are plain background.
With `--extra-plates` (docs/eval/scene_extra_plates.json: the plates the labels leave out,
labelled by eye among the shipped detector's candidates) a candidate matching an extra plate is
no candidate (the trainer takes those plates as positives), one matching an extra don't-care
region is don't care, and in a frame the file lists as reviewed the labels count as complete:
a dash-cam candidate there is judged by the OCR rule like any other.

    python -m inference.training.detector_mining --out /tmp/det3_mined.json
        [--data ../shared/data] [--model detector_int8.tflite] [--threshold 0.25]
        [--extra-plates docs/eval/scene_extra_plates.json]

Deterministic (no randomness; frames in label order). Writes one JSON file (see `mine`).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

MAX_IOU = 0.1  # a detection overlapping a labelled plate this little is unexplained
MIN_CHARS = 4  # a plate reading has at least this many characters ...
MIN_CHAR_CONF = 0.6  # ... read with at least this mean per-character confidence ...
MIN_STRING_CONF = 0.3  # ... and a string probability of at least this (or a format match)
INCOMPLETE_LABELS = ("RobertLucian/license-plate-dataset",)  # sources: every candidate is kept


def likely_plate(text: str, mean_char_conf: float, confidence: float,
                 region: str | None) -> bool:
    """The OCR's reading of a crop looks like a plate: >= MIN_CHARS characters mixing letters
    and digits, read with mean character confidence >= MIN_CHAR_CONF, and either fitting a
    known plate format or read with string probability >= MIN_STRING_CONF. Badges and model
    lettering read as letters only ("JETFLEX") or as short or unsure strings."""
    if len(text) < MIN_CHARS or mean_char_conf < MIN_CHAR_CONF:
        return False
    if not (any(c.isalpha() for c in text) and any(c.isdigit() for c in text)):
        return False
    return region is not None or confidence >= MIN_STRING_CONF


def _reading(recognizer, image, det) -> dict:
    """The pipeline's reading of one detection: text, confidences, format region."""
    reading = recognizer.read_detections(image, [det])[0]
    if reading is None:  # nothing plate-like read (empty or very unsure)
        return {"text": "", "char_conf": 0.0, "confidence": 0.0, "region": None}
    best = reading.candidates[0]
    return {"text": best.text, "char_conf": round(float(np.mean(reading.ocr.char_conf)), 3),
            "confidence": round(best.confidence, 3), "region": best.region}


def _overlaps(box, boxes, max_iou: float) -> bool:
    from inference.detector import iou_xywh

    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return bool(len(boxes)) and iou_xywh(np.array([box], np.float32), boxes).max() >= max_iou


def _reason(item, det, plate: bool, extra) -> str | None:
    """Why a candidate is don't care (None: a hard negative)."""
    name = item.path.name
    if plate:
        return "ocr"
    if _overlaps(det.box, extra.dont_care.get(name, ()), MAX_IOU):
        return "extra"
    if item.source in INCOMPLETE_LABELS and name not in extra.reviewed:
        return "labels"
    return None


def mine(items, detector, recognizer, max_iou: float = MAX_IOU, extra=None) -> dict:
    """Candidates per image: {"images": {name: [{"box", "corners", "score", "kind", "text",
    ...}]}, "counts": {...}}. `items`: LabelledImage list (training split); `extra`: an
    inference.eval_data.ExtraPlates of the training split (or None)."""
    import cv2

    from inference.eval_data import ExtraPlates

    extra = extra or ExtraPlates()

    images: dict[str, list] = {}
    kinds: Counter = Counter()
    by_source: Counter = Counter()
    for n, item in enumerate(items, 1):
        image = cv2.imread(str(item.path), cv2.IMREAD_COLOR)
        if image is None:
            logger.warning("unreadable %s skipped", item.path)
            continue
        gt = [p.box for p in item.plates] + extra.plates.get(item.path.name, [])
        found = []
        for det in detector.detect(image):
            if _overlaps(det.box, gt, max_iou):
                continue
            rec = _reading(recognizer, image, det)
            plate = likely_plate(rec["text"], rec["char_conf"], rec["confidence"], rec["region"])
            reason = _reason(item, det, plate, extra)
            kind = "dont_care" if reason else "hard_negative"
            kinds[kind] += 1
            by_source[f"{item.source}:{kind}" + (f":{reason}" if reason else "")] += 1
            corners = None if det.corners is None else np.round(det.corners, 1).tolist()
            found.append({"box": [round(float(v), 1) for v in det.box], "corners": corners,
                          "score": round(float(det.score), 3), "kind": kind, "reason": reason,
                          **rec})
        if found:
            images[item.path.name] = found
        if n % 100 == 0:
            logger.info("%d/%d frames, %s", n, len(items), dict(kinds))
    counts = {"frames": len(items), "frames_with_candidates": len(images), **dict(kinds),
              "by_source": dict(sorted(by_source.items()))}
    return {"images": images, "counts": counts}


def main(argv: list[str] | None = None) -> None:
    from inference.detector import Detector
    from inference.eval_data import ExtraPlates, load_extra_plates, load_scenes
    from inference.ocr import PlateReader
    from inference.pipeline import PlateRecognizer
    from inference.runtime import ModelError
    from inference.tracker import Tracker

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--model", default="detector_int8.tflite")
    parser.add_argument("--threshold", type=float, default=0.25,
                        help="detection score threshold for candidates")
    parser.add_argument("--extra-plates", type=Path, default=None,
                        help="plates the labels leave out (docs/eval/scene_extra_plates.json)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        items = load_scenes(args.data / "scenes", "train")
        extra = (ExtraPlates() if args.extra_plates is None
                 else load_extra_plates(args.extra_plates, "train"))
        detector = Detector(args.model, num_threads=1, threshold=args.threshold)
        recognizer = PlateRecognizer(detector, PlateReader(num_threads=1),
                                     Tracker(region="auto"), region="auto")
    except (OSError, ValueError, ModelError) as exc:  # DatasetError is a ValueError
        raise SystemExit(f"detector_mining: {exc}") from exc
    result = mine(items, detector, recognizer, extra=extra)
    result = {"split": "train", "model": str(args.model),
              "model_version": detector.model.version, "threshold": args.threshold,
              "max_iou": MAX_IOU, "extra_plates": args.extra_plates and str(args.extra_plates),
              "extra_reviewed_frames": len(extra.reviewed),
              "rule": {"min_chars": MIN_CHARS, "min_char_conf": MIN_CHAR_CONF,
                       "min_string_conf": MIN_STRING_CONF, "region": "auto",
                       "incomplete_label_sources": list(INCOMPLETE_LABELS)}, **result}
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result["counts"]))


if __name__ == "__main__":
    main()
