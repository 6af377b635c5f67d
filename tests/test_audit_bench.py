"""Audit of issues 3 and 4: the benchmarks' last stdout line is one JSON object holding the keys
the issues name (the schema only: speed is judged from the figures, not here)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def last_line_json(*argv) -> dict:
    res = subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_detector_bench_names_the_issues_keys():
    doc = last_line_json("bench/detector.py", "--frames", "3")
    for key in ("ms_int8_1t", "ms_float_1t", "ms_int8_2t", "peak_rss_mb"):
        assert isinstance(doc[key], float) and doc[key] > 0, key


@pytest.mark.slow
def test_recognition_bench_names_the_issues_keys():
    doc = last_line_json("bench/recognition.py")
    for key in ("ocr_ms_int8", "ocr_ms_float", "pipeline_fps_1t"):
        assert isinstance(doc[key], float) and doc[key] > 0, key
