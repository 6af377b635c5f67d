"""Detector speed on a 1280x720 frame: int8 and float, 1 and 2 threads, plus the peak memory of
a process that only runs the int8 detector. Both passes (full + coarse) when the manifest lists a
coarse pass; the int8 full pass alone is timed too, as the baseline of its cost. With a plate
verifier (inference.verifier) its time per vetted detection is measured too: a frame costs that
once per detection scoring under `vets_below`. Last stdout line: one JSON object.

    python bench/detector.py [--frames N] [--models DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.detector import Detector  # noqa: E402
from inference.runtime import MODELS_DIR  # noqa: E402


def frame(seed: int = 0) -> np.ndarray:
    """A 1280x720 street-like frame with one plate-like block of text. (cv2.randu fills the
    uint8 array in place: numpy's integers() needs ~10 MB of temporaries, which would count in
    the detector process's peak memory.)"""
    img = np.empty((720, 1280, 3), np.uint8)
    cv2.setRNGSeed(seed)
    cv2.randu(img, 0, 255)
    img = cv2.GaussianBlur(img, (0, 0), 3)
    cv2.rectangle(img, (600, 420), (720, 480), (235, 235, 235), -1)
    cv2.putText(img, "7ABC123", (606, 462), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (20, 20, 20), 2)
    return img


def time_detector(path: Path, threads: int, frames: int, coarse: bool = True) -> float:
    cv2.setNumThreads(threads)  # OpenCV's pool (letterbox resize) on the same threads
    det = Detector(path, num_threads=threads, coarse=coarse)
    img = frame()
    for _ in range(5):
        det.detect(img)
    times = []
    for _ in range(frames):
        t0 = time.perf_counter()
        det.detect(img)
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


def time_verifier(path: Path, frames: int) -> float | None:
    """Median ms of one verifier look (cut + invoke) at one thread; None without a verifier."""
    cv2.setNumThreads(1)
    det = Detector(path, num_threads=1)
    if det.verifier is None:
        return None
    gray = cv2.cvtColor(frame(), cv2.COLOR_BGR2GRAY)
    times = []
    for _ in range(frames + 5):
        t0 = time.perf_counter()
        det.verifier.probability(gray, (600, 420, 120, 60))
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times[5:]))


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM belongs to the process's own address space;
    ru_maxrss is not usable in a child: Linux carries the parent's high-water mark over the
    (v)fork + exec into it (measured: 99.2 MB reported inside this bench vs 89.6 MB for the
    same child started alone)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # no /proc: best effort


def peak_rss_child(models: Path) -> None:
    det = Detector(models / "detector_int8.tflite", num_threads=1)
    img = frame()
    for _ in range(20):
        det.detect(img)
    print(peak_rss_mb())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--models", type=Path, default=MODELS_DIR,
                        help="folder with detector_*.tflite and its manifest (default: shipped)")
    parser.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        peak_rss_child(args.models)
        return
    res = {}
    for kind in ("int8", "float"):
        for threads in (1, 2):
            ms = time_detector(args.models / f"detector_{kind}.tflite", threads, args.frames)
            res[f"ms_{kind}_{threads}t"] = round(ms, 2)
            print(f"detector {kind:5s} {threads} thread(s): {ms:7.2f} ms per 1280x720 frame "
                  "(median)")
    if Detector(args.models / "detector_int8.tflite").coarse is not None:
        ms = time_detector(args.models / "detector_int8.tflite", 1, args.frames, coarse=False)
        res["ms_int8_1t_full_pass_only"] = round(ms, 2)
        res["coarse_pass_cost"] = round(res["ms_int8_1t"] / ms, 2)
        print(f"detector int8  1 thread(s): {ms:7.2f} ms without the coarse pass (baseline): "
              f"both passes cost {res['coarse_pass_cost']}x")
    ms = time_verifier(args.models / "detector_int8.tflite", args.frames * 4)
    if ms is not None:
        res["ms_verifier_per_detection"] = round(ms, 3)
        print(f"plate verifier int8 1 thread: {ms:.3f} ms per vetted detection (median)")
    out = subprocess.run([sys.executable, __file__, "--rss-child", "--models", str(args.models)],
                         capture_output=True, text=True, check=True)
    res["peak_rss_mb"] = round(float(out.stdout.strip().splitlines()[-1]), 1)
    res["int8_vs_float_1t"] = round(res["ms_float_1t"] / res["ms_int8_1t"], 2)
    print(f"int8 is {res['int8_vs_float_1t']}x faster than float (baseline) on one thread; "
          f"peak RSS of a detector-only process {res['peak_rss_mb']} MB")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
