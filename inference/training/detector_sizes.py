"""Detection recall against plate size, on real plates zoomed to a given share of the frame.

The spec asks for plates from ~60 px wide up to half the frame; the validation scenes hold few
large plates. This takes the Brazilian scenes of a split (sharp photographs, one labelled plate
each, 19 % of the width at the median), cuts a window around the plate so that it spans `share`
of the window's width (same aspect as the photograph), scales the window to 1280 px wide and
asks the detector for the plate (IoU >= 0.3, like `alpr eval`). Only shares at least as large
as the plate's own share are meaningful (the window must fit inside the photograph).

    python -m inference.training.detector_sizes --data ../shared/data [--split val]
        [--model inference/models/detector_int8.tflite] [--shares 0.2,0.3,...]

Prints found / plates per share with and without the coarse pass; last line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

FRAME_W = 1280


def zoomed(image: np.ndarray, box, share: float) -> tuple[np.ndarray, np.ndarray] | None:
    """(window scaled to FRAME_W wide, plate box in it) or None when the window would not fit."""
    import cv2

    h, w = image.shape[:2]
    x, y, bw, bh = box
    cw = bw / share
    ch = cw * h / w
    if cw > w or ch > h:
        return None
    x0 = int(np.clip(x + bw / 2 - cw / 2, 0, w - cw))
    y0 = int(np.clip(y + bh / 2 - ch / 2, 0, h - ch))
    window = image[y0:y0 + int(ch), x0:x0 + int(cw)]
    s = FRAME_W / window.shape[1]
    frame = cv2.resize(window, (FRAME_W, round(window.shape[0] * s)),
                       interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    return frame, np.array([[(x - x0) * s, (y - y0) * s, bw * s, bh * s]], np.float32)


def sweep(scenes, detector, shares) -> dict[str, list[int]]:
    """share -> [found, plates] over the (image, plate box) scenes whose window fits."""
    from inference.eval_data import match

    out = {}
    for share in shares:
        found = total = 0
        for image, box in scenes:
            z = zoomed(image, box, share)
            if z is None:
                continue
            frame, truth = z
            boxes = np.array([d.box for d in detector.detect(frame)], np.float32).reshape(-1, 4)
            assigned, _ = match(boxes, truth)
            found, total = found + int((assigned >= 0).sum()), total + 1
        out[f"{share:.2f}"] = [found, total]
    return out


def main(argv: list[str] | None = None) -> int:
    import cv2

    from inference.detector import Detector
    from inference.eval_data import DatasetError, load_scenes

    ap = argparse.ArgumentParser(prog="python -m inference.training.detector_sizes",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--split", choices=("val", "train", "all"), default="val")
    ap.add_argument("--model", type=Path, default=None, help="detector .tflite (default shipped)")
    ap.add_argument("--shares", default="0.2,0.3,0.4,0.5,0.6,0.7")
    args = ap.parse_args(argv)
    try:
        items = [i for i in load_scenes(args.data / "scenes", args.split)
                 if i.source.endswith(":br") and len(i.plates) == 1]
    except (DatasetError, OSError) as exc:
        print(f"detector_sizes: {exc}", file=sys.stderr)
        return 2
    scenes = [(image, i.plates[0].box) for i in items
              if (image := cv2.imread(str(i.path))) is not None]  # read once for every sweep
    shares = [float(v) for v in args.shares.split(",")]
    result = {}
    for name, coarse in (("both_passes", True), ("full_pass_only", False)):
        detector = Detector(args.model, num_threads=1, coarse=coarse)
        if coarse and detector.coarse is None:
            continue
        result[name] = sweep(scenes, detector, shares)
        for share, (found, total) in result[name].items():
            print(f"{name:15s} plate = {share} of the frame width: {found}/{total}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
