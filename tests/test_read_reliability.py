"""The reliability table of read confidences (inference.training.read_reliability)."""

import argparse

import pytest

from inference.training.read_reliability import folder_arg, reliability


def test_bins_accuracy_and_ece():
    conf = [0.05, 0.05, 0.85, 0.85, 0.85, 0.85, 1.0]
    ok = [False, True, True, True, True, False, True]
    t = reliability(conf, ok)
    assert t["n"] == 7 and t["accuracy"] == round(5 / 7, 3)
    by_from = {b["from"]: b for b in t["bins"]}
    assert by_from[0.0] == {"from": 0.0, "to": 0.1, "n": 2, "mean_conf": 0.05, "accuracy": 0.5}
    assert by_from[0.8]["n"] == 4 and by_from[0.8]["accuracy"] == 0.75
    assert by_from[0.9]["n"] == 1  # 1.0 falls in the last bin
    # ECE: 2/7*|0.05-0.5| + 4/7*|0.85-0.75| + 1/7*|1-1|
    assert t["ece"] == round(2 / 7 * 0.45 + 4 / 7 * 0.1, 3)


def test_perfectly_calibrated_reads_have_no_gap_and_empty_input_is_safe():
    assert reliability([0.75] * 4, [True, True, True, False])["ece"] == 0.0
    assert reliability([], []) == {"n": 0, "accuracy": None, "ece": 0.0, "bins": []}


def test_folder_argument_needs_a_region():
    assert folder_arg("/tmp/x:eu")[1] == "eu"
    for bad in ("/tmp/x", "/tmp/x:mars"):
        with pytest.raises(argparse.ArgumentTypeError):
            folder_arg(bad)
