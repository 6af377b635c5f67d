"""`python -m inference.training.ocr_compare`: runs alone and as ensembles, on the held-out sets
and stacked-letter plates through the pipeline (synthetic only here)."""

import json

import pytest

from inference.training import ocr_compare
from tests.test_ocr_ensemble import member


def test_combos_are_singles_then_ensembles_in_order():
    assert ocr_compare.combos(["a", "b", "c"]) == [
        ("a",), ("b",), ("c",), ("a", "b"), ("a", "c"), ("b", "c"), ("a", "b", "c")]
    assert ocr_compare.combos(["a"]) == [("a",)]


def test_pipeline_figures_count_exact_and_longer_reads():
    pairs = [("ABC123", "ABC123"), ("ABC123", "XABC123"), ("ABC123", "ABC12"), ("7XY", "")]
    assert ocr_compare.pipeline_figures(pairs) == {"n": 4, "exact": 0.25, "exact_count": 1,
                                                   "longer": 1}


def test_table_has_a_row_per_combination():
    figs = {"us-crops": {"n": 4, "exact": 0.75, "top5": 1.0, "char": 0.9},
            ocr_compare.STACKED: {"n": 2, "exact": 0.5, "exact_count": 1, "longer": 1}}
    out = ocr_compare.table({"a": figs, "a+b": figs}).splitlines()
    assert len(out) == 4 and out[0].startswith("| members | us-crops | stacked")
    assert out[3] == "| a+b | 75.0% (3/4), top-5 100.0% | 50.0% (1/2), 1 longer |"


@pytest.mark.slow
def test_compare_two_runs_end_to_end(tmp_path, capsys):
    a, b = member(tmp_path / "a"), member(tmp_path / "b")
    assert ocr_compare.main(["--member", f"{a}:a", "--member", f"{b}:b", "--smoke",
                             "--stacked", "3"]) == 0
    results = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert list(results) == ["a", "b", "a+b"]
    # the same model twice: identical single figures
    assert results["a"] == results["b"]
    for figs in results.values():
        assert figs["synthetic"]["n"] == 16
        assert figs[ocr_compare.STACKED]["n"] == 3
    assert not list(tmp_path.glob("*/a_int8.tflite"))  # staged in a temporary folder only


def test_compare_refuses_a_corrupt_member(tmp_path):
    a, b = member(tmp_path / "a"), member(tmp_path / "b")
    (b / "ocr_int8.tflite").write_bytes(b"truncated")
    with pytest.raises(SystemExit, match="ocr_compare: .*sha256"):
        ocr_compare.main(["--member", f"{a}:a", "--member", f"{b}:b", "--smoke", "--stacked", "0"])
    with pytest.raises(SystemExit, match="not found"):
        ocr_compare.main(["--member", f"{a}:a", "--data", str(tmp_path / "nope")])
