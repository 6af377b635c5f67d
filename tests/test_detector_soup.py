"""Averaging detector runs' weights (inference.training.detector_soup)."""

import json

import numpy as np
import pytest

from inference.training import detector_soup


def test_average_is_the_elementwise_mean_and_keeps_dtypes():
    a = [np.zeros((2, 3), np.float32), np.array([1, 3], np.float32)]
    b = [np.full((2, 3), 3, np.float32), np.array([5, 7], np.float32)]
    mixed = detector_soup.average([a, b])
    np.testing.assert_array_equal(mixed[0], np.full((2, 3), 1.5, np.float32))
    np.testing.assert_array_equal(mixed[1], [3, 5])
    assert all(m.dtype == np.float32 for m in mixed)


@pytest.mark.parametrize(("sets", "message"), [
    ([[np.zeros(2)]], "at least two"),
    ([[np.zeros(2)], [np.zeros(3)]], "differ in shape"),
    ([[np.zeros(2)], [np.zeros(2), np.zeros(2)]], "differ in shape"),
])
def test_average_refuses_what_is_not_one_architecture(sets, message):
    with pytest.raises(ValueError, match=message):
        detector_soup.average(sets)


def _save(model, path, value):
    model.set_weights([np.full(w.shape, value, w.dtype) for w in model.get_weights()])
    model.save_weights(path)


def test_soup_writes_a_checkpoint_the_trainer_loads(tmp_path, capsys):
    from inference.training.detector_model import build_model

    model = build_model(width_mult=0.5)
    paths = [tmp_path / f"run{i}.weights.h5" for i in range(3)]
    for path, value in zip(paths, (0.0, 0.3, 0.9), strict=True):
        _save(model, path, value)
    detector_soup.main([*map(str, paths), "--out", str(tmp_path / "soup"), "--width-mult", "0.5"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    check = build_model(width_mult=0.5)
    check.load_weights(out["soup"])
    for w in check.get_weights():
        np.testing.assert_allclose(w, 0.4, rtol=1e-6)


def test_soup_refuses_missing_runs_and_another_architecture(tmp_path):
    from inference.training.detector_model import build_model

    small = tmp_path / "small.weights.h5"
    _save(build_model(width_mult=0.5), small, 0.1)
    with pytest.raises(SystemExit, match="not found"):
        detector_soup.soup([small, tmp_path / "nope.weights.h5"], tmp_path / "out", 0.5)
    with pytest.raises(SystemExit, match="not a detector checkpoint of width 1.0"):
        detector_soup.soup([small, small], tmp_path / "out", 1.0)  # saved at width 0.5
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit, match="at least two"):
        detector_soup.main([str(small), "--out", str(tmp_path / "out")])
