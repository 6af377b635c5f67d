"""Recognition benchmark: OCR ms per plate (int8 and float) and full-pipeline frames/s.

Pipeline: detect -> rectify -> read -> rank -> track on a 1280x720 stream with one plate, one
interpreter thread. Baseline measured in the same run: the detector alone on the same frames
(the ratio says what reading and tracking add). Reading one detected plate (rectify -> OCR ->
rank) is timed with one crop view and with the second look forced (two views: the worst case).
The OCR is the shipped reader for `--region` (default us; or, with `--ocr-dir DIR`, the one
packaged in DIR by inference.training.ocr_ensemble, the shipped one then timed beside it for a
ratio); its first
model alone is timed beside it, and `ocr_mean_members` says how many members a read of the
bench plate ran (a cascade stops early on a sure reading, docs/ocr.md). Medians are quoted.
Last stdout line: one JSON object {"ocr_ms_int8", "ocr_ms_float", "pipeline_fps_1t", ...}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.formats import REGION_FAMILIES  # noqa: E402
from inference.ocr import MANIFEST, MODELS_DIR, PlateReader, shipped_models  # noqa: E402
from inference.rectify import box_of, rectify  # noqa: E402
from inference.training.ocr_effects import background, place  # noqa: E402


def flat_plate(text: str) -> np.ndarray:
    """A plain US-style plate drawn with OpenCV (the unit's install has no Pillow)."""
    img = np.full((240, 480, 3), 235, np.uint8)
    cv2.rectangle(img, (2, 2), (477, 237), (40, 40, 40), 4)
    cv2.putText(img, "CALIFORNIA", (150, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (40, 40, 170), 3)
    cv2.putText(img, text, (30, 175), cv2.FONT_HERSHEY_DUPLEX, 3.2, (90, 30, 20), 9)
    return img


def timed(fn, n: int) -> float:
    """Median ms of n calls (after 3 warm-up calls)."""
    for _ in range(3):
        fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ts)


def stream(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """n 1280x720 frames, one plate moving across a textured background."""
    bg = background(720, 1280, rng, ir=False)
    plate, _ = place(flat_plate("7ABC123"), 140, rng, ir=False)
    frames = []
    for i in range(n):
        f = bg.copy()
        x, y = 200 + 12 * i, 420
        h, w = plate.shape[:2]
        f[y:y + h, x:x + w] = plate
        frames.append(f)
    return frames


def read_per_plate(image: np.ndarray, corners: np.ndarray,
                   models: list[str]) -> tuple[float, float]:
    """Median ms to read one detected plate: one crop view, and two (second look forced)."""
    from inference.pipeline import VIEWS, PlateRecognizer
    from inference.tracker import Tracker
    from inference.types import Detection

    reader = PlateReader(models, num_threads=1)  # the int8 ensemble under test
    det = [Detection(box_of(corners), 0.9, corners)]
    one = PlateRecognizer(None, reader, Tracker(), views=VIEWS[:1])
    two = PlateRecognizer(None, reader, Tracker(), second_look_below=2.0)  # always look twice
    return (timed(lambda: one.read_detections(image, det), 300),
            timed(lambda: two.read_detections(image, det), 300))


def ensemble(folder: Path, kind: str, region: str) -> list[str]:
    """The member files (absolute paths) of the region's reader packaged in `folder`."""
    return [str(folder / n) for n in shipped_models(region, kind, folder / MANIFEST.name)]


def time_ocr(folder: Path, crop: np.ndarray, region: str) -> tuple[dict, dict, float]:
    """ms per read of the folder's int8 and float ensembles and of their first member alone,
    and the members an int8 read ran."""
    ocr, single, members = {}, {}, 0.0
    for kind in ("int8", "float"):
        names = ensemble(folder, kind, region)
        reader = PlateReader(names, num_threads=1)
        ocr[kind] = timed(lambda r=reader: r.read(crop), 300)
        members = reader.mean_members if kind == "int8" else members
        alone = PlateReader(names[0], num_threads=1)
        single[kind] = timed(lambda r=alone: r.read(crop), 300)
        print(f"OCR {kind}: {ocr[kind]:.3f} ms per plate, {len(names)}-model ensemble "
              f"{folder} (one model alone {single[kind]:.3f} ms, "
              f"{ocr[kind] / single[kind]:.2f}x; median of 300, 1 thread)"
              + (f"; {reader.mean_members:.2f} members per read" if kind == "int8" else ""))
    return ocr, single, members


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ocr-dir", type=Path, default=MODELS_DIR,
                    help="an OCR ensemble packaged by ocr_ensemble (default: the shipped one)")
    ap.add_argument("--region", choices=REGION_FAMILIES, default="us",
                    help="time the reader the manifest names for this region (default us)")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)  # one thread means OpenCV's pool (resize, warp) too
    folder = args.ocr_dir.resolve()
    rng = np.random.default_rng(0)
    image, corners = place(flat_plate("7ABC123"), 160, rng, ir=False)
    crop = rectify(image, corners)
    ocr, single, members = time_ocr(folder, crop, args.region)
    extra = {}
    if folder != MODELS_DIR.resolve():  # a candidate: the shipped reader in the same run
        shipped, _, _ = time_ocr(MODELS_DIR, crop, args.region)
        extra = {"ocr_ms_int8_shipped": round(shipped["int8"], 3),
                 "ocr_ratio_vs_shipped": round(ocr["int8"] / shipped["int8"], 3)}
        print(f"OCR int8 {folder} vs the shipped reader: {extra['ocr_ratio_vs_shipped']:.2f}x")
    print(f"OCR int8 speed-up over float: {ocr['float'] / ocr['int8']:.2f}x")
    read_ms = read_per_plate(image, corners, ensemble(folder, "int8", args.region))
    print(f"read per plate (rectify + OCR int8 + rank): one view {read_ms[0]:.3f} ms, "
          f"with the second look {read_ms[1]:.3f} ms ({read_ms[1] / read_ms[0]:.2f}x)")

    from appliance.config.recognition import RecognitionConfig
    from inference.pipeline import build_recognizer

    rec = build_recognizer(RecognitionConfig(num_threads=1, region=args.region,
                                             ocr_model=ensemble(folder, "int8", args.region)))
    frames = stream(60, rng)
    det_ms = statistics.median(timed(lambda f=f: rec.detector.detect(f), 1) for f in frames[:30])
    mono = 1000.0
    per = []
    for i, f in enumerate(frames):
        t = time.perf_counter()
        rec.process(f, 1.7e9 + i / 15, mono + i / 15, True)
        per.append((time.perf_counter() - t) * 1000)
    reads = rec.flush()
    pipe_ms = statistics.median(per)
    print(f"detector alone: {det_ms:.2f} ms per 1280x720 frame ({1000 / det_ms:.1f} fps) baseline")
    print(f"full pipeline: {pipe_ms:.2f} ms per frame ({1000 / pipe_ms:.1f} fps), "
          f"{pipe_ms / det_ms:.2f}x the detector alone; reads: {[r.plate for r in reads]}")
    print(f"second looks in the stream: {rec.second_looks} of {len(frames)} frames")
    print(json.dumps({"ocr_ms_int8": round(ocr["int8"], 3), "ocr_ms_float": round(ocr["float"], 3),
                      "pipeline_fps_1t": round(1000 / pipe_ms, 1),
                      "read_ms_one_view": round(read_ms[0], 3),
                      "read_ms_two_views": round(read_ms[1], 3),
                      "detector_fps_1t": round(1000 / det_ms, 1),
                      "int8_speedup": round(ocr["float"] / ocr["int8"], 2),
                      "ocr_ms_int8_one_model": round(single["int8"], 3),
                      "ocr_ms_float_one_model": round(single["float"], 3),
                      "ocr_mean_members": round(members, 3), **extra}))


if __name__ == "__main__":
    main()
