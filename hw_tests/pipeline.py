"""Pipeline field test: end-to-end read rate and recognition latency.

On the unit: the camera looks at a printed test plate (`--plate TEXT`); the test feeds
`pipeline_frames` frames to the shipped recognizer and expects a read of that text.
Simulated: the synthetic scene (vehicles with known plates) feeds the same recognizer and the
read rate is measured against its ground truth. Without models the test reports
"skipped: no models" (a failure-free skip in --simulate, exit 2 on hardware).
"""

from __future__ import annotations

import logging
import sys
import time

import numpy as np

from hw_tests.report import Report
from hw_tests.rig import Options

logger = logging.getLogger(__name__)
NAME = "pipeline"


def _feed(recognizer, source, frames: int) -> tuple[list, list[float], list[float]]:
    """Run frames through the recognizer: reads, per-frame ms, read latency ms (after last seen)."""
    reads, frame_ms, read_ms = [], [], []
    for _ in range(frames):
        f = source.read()
        t0 = time.monotonic()
        out = recognizer.process(f.image, f.wall_time, f.mono_time, False)
        done = time.monotonic()
        frame_ms.append((done - t0) * 1000)
        for r in out:
            read_ms.append((done - r.last_seen_mono) * 1000)
        reads += out
    reads += recognizer.flush()
    return reads, frame_ms, read_ms


def score(expected: list[str], plates: list[str]) -> tuple[int, list[str], list[str]]:
    """(matched, missed, false reads): each expected plate matches at most one read."""
    remaining = list(plates)
    missed = []
    for text in expected:
        if text in remaining:
            remaining.remove(text)
        else:
            missed.append(text)
    return len(expected) - len(missed), missed, remaining


def run(rig, options: Options) -> Report:
    report = Report(NAME, rig.simulate)
    if not rig.simulate and not options.plate:
        report.error = "no expected plate: give --plate TEXT of the printed test plate"
        return report
    recognizer, why = rig.recognizer()
    if recognizer is None:
        report.skip("read_rate", why)
        return report
    try:
        source = rig.camera(NAME)
        source.open()
        try:
            reads, frame_ms, read_ms = _feed(recognizer, source, options.pipeline_frames)
            expected = rig.expected_plates(source)
        finally:
            source.close()
    finally:
        recognizer.close()
    plates = [r.plate for r in reads]
    matched, missed, false_reads = score(expected, plates)
    rate = matched / len(expected) if expected else 0.0
    p50, p95 = (float(np.percentile(frame_ms, q)) for q in (50, 95))
    report.measurements.update(
        frames=len(frame_ms), expected=len(expected), reads=len(reads), matched=matched,
        missed=missed, false_reads=false_reads, frame_ms_p50=p50, frame_ms_p95=p95,
        read_latency_ms_p50=float(np.percentile(read_ms, 50)) if read_ms else None)
    if not expected:
        report.check("read_rate", False, detail="no plate passed the camera in "
                     f"{options.pipeline_frames} frames (--pipeline-frames)")
    else:
        report.check("read_rate", rate >= options.min_read_rate, rate,
                     f">= {options.min_read_rate:g}", detail="" if rate >= options.min_read_rate
                     else f"read {matched} of {len(expected)} plates; missed {missed[:5]}")
    report.check("latency_p95_ms", p95 <= options.max_latency_ms, p95,
                 f"<= {options.max_latency_ms:g}")
    return report


if __name__ == "__main__":
    from hw_tests.cli import main_for

    sys.exit(main_for(NAME))
