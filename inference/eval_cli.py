"""`alpr eval DIR`: detection and reading figures on a labelled folder in the OpenALPR benchmark
layout or the scenes layout (validation split by default).

A labelled plate counts as detected when a detection overlaps it with IoU >= 0.3; detections
matching no labelled plate are false positives. `ms` is the recognition time of one image after
decoding it. The images go through a `Recognize` callable, `image -> [(box, candidates)]`: the
plates found, each with its candidate strings, best first. By default that is the unit's
pipeline (`PlateRecognizer.find`: detection with the model's plate verifier, or its two-tier
confirmation when its manifest has one, rectify, OCR, format ranking); with --no-read the
detector alone at its operating threshold (its verifier included; --no-verify leaves it out),
and the read_* figures are null.

With --extra-plates (scenes layout; docs/eval/scene_extra_plates.json: plates the labels leave
out, found by eye) a detection matching no labelled plate but an extra plate (IoU >= 0.3)
counts neither as true nor as false positive, like COCO's ignore regions; plates and recall
stay those of the original labels, and both false-positive figures are reported.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

IOU_THRESHOLD = 0.3
JSON_KEYS = ("images", "plates", "detected", "read_exact", "read_top5", "ms_median", "ms_p95",
             "per_image")

ROW_KEYS = ("image", "truth", "read", "candidates", "detected", "ms")
# with --extra-plates the JSON also holds both false-positive figures
EXTRA_KEYS = ("recall", "false_positives", "fp_per_image", "on_extra_plates",
              "false_positives_extra_ignored", "fp_per_image_extra_ignored")

Recognize = Callable[[object], list[tuple[tuple, list[str]]]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, help="folder: images with OpenALPR .txt labels, or "
                        "labels.jsonl beside images/ (its validation split is used)")
    parser.add_argument("--region", choices=("us", "eu", "br", "auto"), default="us",
                        help="plate format family used to rank reading candidates")
    parser.add_argument("--threads", type=int, default=1, help="interpreter threads (default 1)")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT",
                        help="write the figures and per-image rows to this JSON file")
    parser.add_argument("--split", choices=("val", "train", "all"), default="val",
                        help="scenes layout only: which part of the fixed split (default val)")
    parser.add_argument("--detector", type=Path, default=None,
                        help="detector .tflite (default: the shipped int8 model)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="one detection score threshold (default: the model manifest's "
                        "operating point, with its two-tier confirmation when reading; the "
                        "verifier still vets low scores)")
    parser.add_argument("--ocr", type=Path, action="append", default=None,
                        help="OCR .tflite; repeat to read with an ensemble (default: the "
                        "shipped int8 reader for --region); checked against the "
                        "ocr.manifest.json beside it")
    parser.add_argument("--no-coarse", action="store_true",
                        help="full detector pass only (no coarse pass for very large plates)")
    parser.add_argument("--no-verify", action="store_true",
                        help="no plate verifier: every detection the detector scores over its "
                        "threshold stays (the verifier's baseline)")
    parser.add_argument("--no-read", action="store_true",
                        help="detection figures only (no OCR; read_* are null)")
    parser.add_argument("--extra-plates", type=Path, default=None, metavar="JSON",
                        help="scenes layout: plates the labels leave out (docs/eval/"
                        "scene_extra_plates.json); detections on them are not counted as false "
                        "positives in the *_extra_ignored figures")


def _norm(text: str | None) -> str | None:
    return re.sub(r"[^A-Z0-9]", "", text.upper()) if text else None


def _percentile(values: Sequence[float], q: float) -> float | None:
    import numpy as np

    return round(float(np.percentile(values, q)), 2) if len(values) else None


def evaluate(items, recognize: Recognize, reading: bool = True, extra=None,
             threads: int = 1) -> dict:
    """Run `recognize` over labelled images: the summary with per-image rows (read_* null
    unless `reading`). `extra`: an inference.eval_data.ExtraPlates; adds the false positives
    with detections on extra plates ignored. `threads`: OpenCV's own thread pool (resize,
    warp) is held to it while the images are recognised, like the interpreters, so that `ms`
    is single thread unless asked otherwise."""
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    try:
        return _evaluate(items, recognize, reading, extra)
    finally:
        cv2.setNumThreads(before)


def _evaluate(items, recognize: Recognize, reading: bool, extra) -> dict:
    import cv2
    import numpy as np

    from inference.eval_data import match, on_extra

    rows, times, undecodable = [], [], []
    n_plates = n_det = n_fp = n_text = n_exact = n_top5 = n_ignored = 0
    for item in items:
        image = cv2.imread(str(item.path), cv2.IMREAD_COLOR)
        if image is None:  # a corrupt file: its plates count as missed and the run goes on
            logger.warning("cannot decode image %s: its plates count as missed", item.path)
            undecodable.append(item.name)
            found, ms = [], None
        else:
            t0 = time.perf_counter()
            found = recognize(image)
            ms = (time.perf_counter() - t0) * 1000
        cands = [c for _, c in found] if reading else None
        gt = np.array([p.box for p in item.plates], np.float32).reshape(-1, 4)
        boxes = np.array([b for b, _ in found], np.float32).reshape(-1, 4)
        assigned, fp = match(boxes, gt, IOU_THRESHOLD)
        truth = [_norm(p.text) for p in item.plates]
        reads, alts = [], []
        for t, a in zip(truth, assigned, strict=True):
            c = [_norm(s) for s in cands[a]][:5] if cands is not None and a >= 0 else []
            reads.append(c[0] if c else None)
            alts.append(c)
            if t:
                n_text += 1
                n_exact += bool(c) and c[0] == t
                n_top5 += t in c
        detected = int(np.count_nonzero(assigned >= 0))
        n_plates, n_det, n_fp = n_plates + len(gt), n_det + detected, n_fp + fp
        if ms is not None:
            times.append(ms)
        rows.append({"image": item.name, "truth": truth, "read": reads, "candidates": alts,
                     "detected": detected, "ms": None if ms is None else round(ms, 2),
                     "false_positives": fp})
        if extra is not None:
            ignored = on_extra(boxes, assigned, extra.boxes(item.path.name), IOU_THRESHOLD)
            n_ignored += ignored
            rows[-1]["on_extra_plates"] = ignored
    reading = reading and n_text > 0
    summary = {
        "images": len(rows), "plates": n_plates, "detected": n_det,
        "read_exact": round(n_exact / n_text, 4) if reading else None,
        "read_top5": round(n_top5 / n_text, 4) if reading else None,
        "ms_median": _percentile(times, 50), "ms_p95": _percentile(times, 95),
        "per_image": rows,
        "recall": round(n_det / n_plates, 4) if n_plates else None,
        "false_positives": n_fp, "fp_per_image": round(n_fp / len(rows), 4) if rows else None,
        "undecodable": undecodable,  # printed, not in the --json file (its keys are fixed)
    }
    if extra is not None:
        fp = n_fp - n_ignored
        summary.update(on_extra_plates=n_ignored, false_positives_extra_ignored=fp,
                       fp_per_image_extra_ignored=round(fp / len(rows), 4) if rows else None)
    return summary


def format_summary(s: dict) -> str:
    lines = [f"images            {s['images']}",
             f"plates            {s['plates']}",
             f"detected          {s['detected']} (recall {s['recall']} at IoU >= {IOU_THRESHOLD})",
             f"false positives   {s['false_positives']} ({s['fp_per_image']} per image)",
             *([f"  extras ignored  {s['false_positives_extra_ignored']} "
                f"({s['fp_per_image_extra_ignored']} per image; {s['on_extra_plates']} "
                "detections on extra plates)"] if "on_extra_plates" in s else []),
             f"ms per image      median {s['ms_median']}  p95 {s['ms_p95']}"]
    for key in ("read_exact", "read_top5"):
        lines.append(f"{key:<17} {'n/a (no reader)' if s[key] is None else s[key]}")
    bad = s.get("undecodable") or []
    if bad:
        lines.append(f"undecodable       {len(bad)} images, their plates counted as missed: "
                     + ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else ""))
    return "\n".join(lines)


def detector_only(detector) -> Recognize:
    """The detector alone at its operating threshold: boxes without candidates."""
    return lambda image: [(d.box, []) for d in detector.detect(image)]


def reader_files(args: argparse.Namespace) -> list:
    """The OCR files `alpr eval` reads with: `--ocr`, else the shipped reader for `--region`."""
    from inference.ocr import shipped_models

    return list(args.ocr or shipped_models(args.region))


def pipeline(args: argparse.Namespace, detector, models: list) -> Recognize:
    """The unit's single-image pipeline (inference.pipeline.PlateRecognizer.find): the kept
    detections, each with its candidate strings (empty where nothing was read); `models`: the
    OCR files (`reader_files(args)`)."""
    from inference.ocr import PlateReader
    from inference.pipeline import PlateRecognizer
    from inference.tracker import Tracker

    ocr = PlateReader(models, num_threads=args.threads)
    rec = PlateRecognizer(detector, ocr, Tracker(region=args.region), region=args.region)
    return lambda image: [(d.box, [c.text for c in r.candidates] if r else [])
                          for d, r in rec.find(image)]


def _extra(args: argparse.Namespace):
    """The extra plates of the evaluated split, or None without --extra-plates."""
    from inference.eval_data import load_extra_plates

    path = getattr(args, "extra_plates", None)
    if path is None:
        return None
    if not (args.dir / "labels.jsonl").exists():
        raise ValueError("--extra-plates needs a folder in the scenes layout")
    return load_extra_plates(path, args.split)


def _check_output(path: Path | None) -> None:
    """Refuse a --json path that cannot be written before the run, not after it."""
    if path is None:
        return
    if not path.parent.is_dir():
        raise ValueError(f"--json {path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise ValueError(f"--json {path} is a folder")


def run(args: argparse.Namespace) -> int:
    from inference.detector import Detector
    from inference.eval_data import DatasetError, load_dataset
    from inference.runtime import ModelError

    reading = not getattr(args, "no_read", False)
    try:
        _check_output(args.json)
        items = load_dataset(args.dir, args.split)
        extra = _extra(args)
        detector = Detector(args.detector, num_threads=args.threads, threshold=args.threshold,
                            coarse=not getattr(args, "no_coarse", False),
                            verify=not getattr(args, "no_verify", False))
        models = reader_files(args) if reading else []
        recognize = pipeline(args, detector, models) if reading else detector_only(detector)
    except (DatasetError, ModelError, OSError, ValueError) as exc:
        raise SystemExit(f"alpr eval: {exc}") from exc
    summary = evaluate(items, recognize, reading, extra, threads=args.threads)
    print(format_summary(summary))
    vetted = "" if detector.verifier is None else \
        f" + verifier {detector.verifier.model.path.name}"
    print(f"{'detector':<17} {detector.model.path.name} {detector.model.version}{vetted}")
    if reading:
        names = " + ".join(Path(p).name for p in models)
        print(f"{'reader':<17} {names} (region {args.region})")
    if args.json is not None:
        keys = JSON_KEYS + (EXTRA_KEYS if extra is not None else ())
        out = {k: summary[k] for k in keys}
        row_keys = ROW_KEYS + (("false_positives", "on_extra_plates") if extra is not None else ())
        out["per_image"] = [{k: row[k] for k in row_keys} for row in summary["per_image"]]
        try:
            args.json.write_text(json.dumps(out, indent=1) + "\n")
        except OSError as exc:  # the figures are printed above; say why the file is not there
            raise SystemExit(f"alpr eval: cannot write --json {args.json}: {exc}") from exc
    return 0
