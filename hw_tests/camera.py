"""Camera field test: resolution, frame rate, dropped frames, exposure, brightness, focus.

Focus score = variance of the Laplacian of the whole frame (fill the view with the printed
test target); black frames, a lens cap or a defocused lens all score near zero.
"""

from __future__ import annotations

import logging
import statistics
import sys

import cv2
import numpy as np

from hw_tests.report import Report
from hw_tests.rig import Options

logger = logging.getLogger(__name__)
NAME = "camera"


def focus_score(gray: np.ndarray) -> float:
    """Variance of the Laplacian of a gray image (higher = sharper)."""
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def _measure(source, options: Options) -> dict:
    """Per-frame facts of `options.frames` frames after warm-up (frames themselves not kept)."""
    for _ in range(options.warmup_frames):
        source.read()
    m: dict[str, list] = {"mono": [], "seq": [], "exposure_us": [], "brightness": [],
                          "focus": [], "shape": []}
    for _ in range(options.frames):
        f = source.read()
        gray = cv2.cvtColor(f.image, cv2.COLOR_BGR2GRAY)
        m["mono"].append(f.mono_time)
        m["seq"].append(f.seq)
        m["exposure_us"].append(f.exposure_us)
        m["brightness"].append(float(gray.mean()))
        m["focus"].append(focus_score(gray))
        m["shape"].append(gray.shape)
    return m


def _check(report: Report, m: dict, rig, options: Options) -> None:
    cam = rig.config.camera
    n = len(m["mono"])
    span = m["mono"][-1] - m["mono"][0]
    fps = (n - 1) / span if span > 0 else float("inf")
    dropped = (m["seq"][-1] - m["seq"][0] + 1) - n
    expected_exp = min(cam.exposure_us, int(1_000_000 / cam.fps))
    exposures = [e for e in m["exposure_us"] if e is not None]
    brightness = statistics.median(m["brightness"])
    focus = statistics.median(m["focus"])
    report.measurements.update(
        frames=n, fps=fps, dropped=dropped, exposure_us_median=statistics.median(exposures)
        if exposures else None, brightness_median=brightness, focus_median=focus,
        focus_min=min(m["focus"]), configured={"width": cam.width, "height": cam.height,
                                               "fps": cam.fps, "exposure_us": cam.exposure_us})
    monotonic = all(b > a for a, b in zip(m["mono"], m["mono"][1:], strict=False)) and \
        all(b > a for a, b in zip(m["seq"], m["seq"][1:], strict=False))
    report.check("timestamps", monotonic, monotonic, "increasing",
                 detail="" if monotonic else "frame times or sequence numbers go backwards")
    shapes = set(m["shape"])
    report.check("resolution", shapes == {(cam.height, cam.width)},
                 [f"{w}x{h}" for h, w in sorted(shapes)], f"== {cam.width}x{cam.height}")
    report.check("fps", fps >= options.min_fps_ratio * cam.fps, fps,
                 f">= {options.min_fps_ratio * cam.fps:.1f}")
    report.check("dropped_frames", dropped <= options.max_drop_ratio * n, dropped,
                 f"<= {options.max_drop_ratio * n:.0f} of {n}")
    if not exposures:
        report.check("exposure", False, None, detail="the camera reports no exposure time")
    else:
        exp = statistics.median(exposures)
        tol = options.exposure_tolerance
        report.check("exposure", abs(exp - expected_exp) <= tol * expected_exp, exp,
                     f"{expected_exp} us ± {tol:.0%}")
    report.check("brightness", options.min_brightness <= brightness <= options.max_brightness,
                 brightness, f"{options.min_brightness:g}..{options.max_brightness:g}",
                 detail="" if brightness >= options.min_brightness else
                 f"frames are black (mean {brightness:.1f}): lens cap, no light or dead sensor")
    report.check("focus", focus >= options.min_focus, focus, f">= {options.min_focus:g}",
                 detail="" if focus >= options.min_focus else
                 f"image not sharp (score {focus:.1f} < {options.min_focus:g}): refocus on "
                 "the test target, clean the window")


def run(rig, options: Options) -> Report:
    report = Report(NAME, rig.simulate)
    source = rig.camera(NAME)
    try:
        source.open()
        m = _measure(source, options)
    finally:
        source.close()
    if len(m["mono"]) < 2:
        report.error = f"need at least 2 frames, got {len(m['mono'])} (--frames)"
        return report
    _check(report, m, rig, options)
    return report


if __name__ == "__main__":
    from hw_tests.cli import main_for

    sys.exit(main_for(NAME))
