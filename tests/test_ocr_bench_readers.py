"""bench/ocr_readers.py: times candidate readers built from training-output folders."""

import json

import pytest

from bench import ocr_readers
from tests.test_ocr_ensemble import member


def test_times_each_reader_against_the_first(tmp_path, capsys):
    a, b = member(tmp_path / "a"), member(tmp_path / "b")
    assert ocr_readers.main(["--member", f"{a}:a", "--member", f"{b}:b", "--reader", "a+b",
                             "--reader", "b", "--rounds", "1"]) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert out["baseline"] == "a+b" and out["variant"] == "int8"
    assert set(out["ms"]) == set(out["ratio"]) == set(out["ms_bench_plate"]) == {"a+b", "b"}
    assert out["ratio"]["a+b"] == 1.0
    assert all(v > 0 for v in out["ms"].values())


def test_unknown_reader_label_is_refused(tmp_path):
    a = member(tmp_path / "a")
    with pytest.raises(SystemExit, match="no --member labelled"):
        ocr_readers.main(["--member", f"{a}:a", "--reader", "a+z"])
