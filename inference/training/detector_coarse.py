"""The detector's coarse pass: the same trained net, exported at a quarter of the input area.

Why: the net learns plates up to ~230 input px wide (90 % of its 256-px training patches), about
a third of a frame's width at the 640-px input; the spec asks for plates up to half the frame,
and on real plates zoomed to half the frame the single pass finds only ~85 % of them. The net is
fully convolutional, so its weights run unchanged on a 320x192 input: the frame at half the
usual scale, where a half-frame plate is 160 px wide, well inside what it learnt. The unit runs
both passes and merges them (`inference.detector.Detector`); the coarse pass only contributes
plates at least 30 % of its input wide (96 px = 192 px at the full pass's scale, where the two
ranges overlap), so it adds no small false positives. Measured: 1.25x the full pass's time.

`alpr train detector` writes it with every run (full-pass files, then these); for the files of
an earlier run:

    python -m inference.training.detector_coarse --weights RUN/detector_train.weights.h5 \
        --models RUN [--data ../shared/data] [--version V]

writes `detector_coarse_{float,int8}.tflite` beside the full-pass files and records them in that
folder's `detector.manifest.json` (`files`, and `coarse`: file per variant, input, min width).
Training code: the unit never imports it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

# A coarse-pass plate counts from 30 % of its input width: 96 px of 320 = 192 px at the full
# pass's scale, whose training range ends at ~230 px (0.9 of a 256-px patch)
MIN_WIDTH_FRACTION = 0.3
NAME = "detector_coarse"


def coarse_input(manifest: dict) -> tuple[int, int]:
    """(height, width) of the coarse input: half the full pass's (both multiples of 32)."""
    spec = next(f for f in manifest["files"].values() if f.get("variant") == "int8")
    _, h, w, _ = spec["input"]["shape"]
    return h // 2, w // 2


def calibration_frames(data: Path, size: tuple[int, int], n: int = 64,
                       seed: int = 1235) -> list[np.ndarray]:
    """Training-split scenes letterboxed to the coarse input, float [0, 1] (int8 calibration)."""
    import cv2

    from inference.detector import letterbox
    from inference.eval_data import load_scenes

    items = load_scenes(data / "scenes", "train")
    out = []
    for idx in np.random.default_rng(seed).permutation(len(items))[:n]:
        img = cv2.imread(str(items[idx].path))
        if img is not None:
            out.append(letterbox(img, size[1], size[0])[0][None, :, :, None]
                       .astype(np.float32) / 255)
    return out


def export_coarse(weights: Path, out: Path, data: Path, size: tuple[int, int],
                  width_mult: float = 1.0, calib_images: int = 64) -> dict[str, Path]:
    """Export the coarse files (input `size` = (h, w)) from trained weights into `out`."""
    from inference.training.detector_model import build_model
    from inference.training.export import export_tflite

    model = build_model(size[0], size[1], width_mult, batch_size=1)
    model.load_weights(weights)
    return export_tflite(model, calibration_frames(data, size, calib_images), out, NAME)


def record(manifest_path: Path, paths: dict[str, Path], weights: Path,
           version: str | None = None) -> dict:
    """Add the coarse files to the full pass's manifest (sha256 and specs like every file)."""
    from inference.training.export import describe_tflite, save_manifest

    manifest = json.loads(manifest_path.read_text())
    if version:  # the unit's behaviour changes, so a model update must be able to tell
        manifest["version"] = version
    for kind, path in paths.items():
        manifest["files"][path.name] = {"variant": kind, **describe_tflite(path)}
    size = coarse_input(manifest)
    manifest["coarse"] = {"files": {kind: p.name for kind, p in paths.items()},
                          "input": list(size), "min_width": MIN_WIDTH_FRACTION * size[1],
                          "exported_from": str(weights),
                          "why": "plates wider than the full pass learnt (up to half a frame)"}
    return save_manifest(manifest_path, manifest)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m inference.training.detector_coarse",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", type=Path, required=True,
                    help="detector_train.weights.h5 of the run whose files are in --models")
    ap.add_argument("--models", type=Path, required=True,
                    help="folder with that run's detector.manifest.json (written to)")
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--version", help="model version to record (default: keep the manifest's)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    manifest_path = args.models / "detector.manifest.json"
    for need in (args.weights, manifest_path, args.data / "scenes" / "labels.jsonl"):
        if not need.exists():
            print(f"detector_coarse: {need} not found", file=sys.stderr)
            return 2
    manifest = json.loads(manifest_path.read_text())
    width_mult = float(manifest.get("training", {}).get("width_mult", 1.0))
    paths = export_coarse(args.weights, args.models, args.data, coarse_input(manifest),
                          width_mult)
    record(manifest_path, paths, args.weights, args.version)
    print(json.dumps({kind: str(p) for kind, p in paths.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
