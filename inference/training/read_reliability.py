"""How far a read's confidence can be trusted: a reliability table on labelled folders.

An agency sets thresholds on the read confidence (hotlist alerts, review queues), so the
figure must mean something: of the reads at confidence ~0.8, how many are right? This runs
the unit's single-image pipeline (`PlateRecognizer.find`, as `alpr eval` does) over labelled
folders, takes the best candidate of every detected plate that has a text, and bins its
confidence against exactness (the expected calibration error, ECE, sums each bin's gap
between mean confidence and accuracy, weighted by its share of reads).

    python -m inference.training.read_reliability /tmp/ro_val:eu /tmp/olpr_val_all:auto \\
        ../shared/data/scenes:auto [--us-crops ../shared/data/crops] [--split val|all] \\
        [--json OUT]

Measure on held-out folders only; do not fit anything to them. Last stdout line: one JSON
object with the table.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

BINS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0)


def reliability(conf: Sequence[float], ok: Sequence[bool],
                bins: Sequence[float] = BINS) -> dict:
    """Per-bin count, mean confidence and accuracy, and the ECE (the last bin includes 1.0)."""
    c, k = np.asarray(conf, float), np.asarray(ok, bool)
    rows, ece = [], 0.0
    for i, (lo, hi) in enumerate(zip(bins[:-1], bins[1:], strict=True)):
        m = (c >= lo) & ((c <= hi) if i == len(bins) - 2 else (c < hi))
        if not m.any():
            continue
        mean, acc = float(c[m].mean()), float(k[m].mean())
        rows.append({"from": lo, "to": hi, "n": int(m.sum()), "mean_conf": round(mean, 3),
                     "accuracy": round(acc, 3)})
        ece += m.sum() / len(c) * abs(mean - acc)
    return {"n": len(c), "accuracy": round(float(k.mean()), 3) if len(c) else None,
            "ece": round(float(ece), 3), "bins": rows}


def collect(items, recognizer) -> list[tuple[float, bool]]:
    """(confidence, exact) of the best candidate of every detected plate with a text."""
    import cv2

    from inference.eval_data import match
    from inference.formats import normalise

    out = []
    for item in items:
        image = cv2.imread(str(item.path), cv2.IMREAD_COLOR)
        if image is None:
            raise SystemExit(f"cannot decode image {item.path}")
        found = [(d, r) for d, r in recognizer.find(image) if r is not None]
        gt = np.array([p.box for p in item.plates], np.float32).reshape(-1, 4)
        boxes = np.array([d.box for d, _ in found], np.float32).reshape(-1, 4)
        assigned, _ = match(boxes, gt, 0.3)
        for plate, a in zip(item.plates, assigned, strict=True):
            if plate.text and a >= 0:
                best = found[a][1].candidates[0]
                out.append((best.confidence, best.text == normalise(plate.text)))
    return out


def collect_crops(root: Path, reader) -> list[tuple[float, bool]]:
    """(confidence, exact) of the held-out real US crops (`ocr_data.is_validation`), each read
    whole and ranked with the US patterns, as the pipeline ranks a plate."""
    import cv2

    from inference import formats
    from inference.rectify import rectify
    from inference.training.ocr_data import is_validation

    out = []
    for line in (root / "crops.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if not is_validation(rec["image"]):
            continue
        image = cv2.imread(str(root / "images" / rec["image"]), cv2.IMREAD_COLOR)
        if image is None:
            raise SystemExit(f"cannot decode image {root / 'images' / rec['image']}")
        h, w = image.shape[:2]
        res = reader.read(rectify(image, None, (0, 0, w, h), margin=0.0))
        cands = (formats.rank(res.alternatives, "us", res.probs, probs_of=res.text)
                 if res.text else [])
        best = cands[0] if cands else None
        out.append((best.confidence, best.text == formats.normalise(rec["text"])) if best
                   else (0.0, False))
    return out


def folder_arg(value: str) -> tuple[Path, str]:
    path, _, region = value.rpartition(":")
    if not path or region not in ("us", "eu", "br", "auto"):
        raise argparse.ArgumentTypeError(f"expected FOLDER:us|eu|br|auto, got {value!r}")
    return Path(path), region


def main(argv: list[str] | None = None) -> int:
    from inference.detector import Detector
    from inference.eval_data import load_dataset
    from inference.ocr import PlateReader, shipped_models
    from inference.pipeline import PlateRecognizer
    from inference.tracker import Tracker

    ap = argparse.ArgumentParser(prog="python -m inference.training.read_reliability",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="*", type=folder_arg, metavar="FOLDER:REGION")
    ap.add_argument("--us-crops", type=Path, default=None, metavar="DIR",
                    help="also the held-out real US crops of DIR/crops.jsonl")
    ap.add_argument("--split", choices=("val", "all"), default="val",
                    help="scenes layout only (default val)")
    ap.add_argument("--json", type=Path, default=None, metavar="OUT")
    args = ap.parse_args(argv)
    detector = Detector(None)
    readers: dict[tuple[str, ...], PlateReader] = {}  # each region's shipped reader, as the unit

    def reader_for(region: str) -> PlateReader:
        names = shipped_models(region)
        if names not in readers:
            readers[names] = PlateReader(names)
        return readers[names]

    pairs, per_folder = [], {}
    for path, region in args.folders:
        rec = PlateRecognizer(detector, reader_for(region), Tracker(region=region),
                              region=region)
        got = collect(load_dataset(path, args.split), rec)
        per_folder[f"{path}:{region}"] = reliability(*zip(*got, strict=True)) if got else None
        pairs += got
    if args.us_crops:
        got = collect_crops(args.us_crops, reader_for("us"))
        per_folder[f"{args.us_crops}:us-crops"] = reliability(*zip(*got, strict=True))
        pairs += got
    table = reliability(*zip(*pairs, strict=True)) if pairs else reliability([], [])
    print(f"reads {table['n']}  exact {table['accuracy']}  ECE {table['ece']}")
    for row in table["bins"]:
        print(f"  confidence {row['from']:.1f}-{row['to']:.1f}  n {row['n']:4d}  "
              f"mean {row['mean_conf']:.3f}  exact {row['accuracy']:.3f}")
    result = {"all": table, "folders": per_folder}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
