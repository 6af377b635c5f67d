"""Averaging runs' weights, a "model soup" (inference.training.soup), and exporting an OCR soup."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.training import soup

REPO = Path(__file__).resolve().parents[1]


def test_average_is_the_elementwise_mean_and_keeps_dtypes():
    a = [np.zeros((2, 3), np.float32), np.array([1, 3], np.float32)]
    b = [np.full((2, 3), 3, np.float32), np.array([5, 7], np.float32)]
    mixed = soup.average([a, b])
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
        soup.average(sets)


def _save(model, path, value):
    model.set_weights([np.full(w.shape, value, w.dtype) for w in model.get_weights()])
    model.save_weights(path)


def test_soup_writes_a_checkpoint_the_trainer_loads(tmp_path, capsys):
    from inference.training.detector_model import build_model

    model = build_model(width_mult=0.5)
    paths = [tmp_path / f"run{i}.weights.h5" for i in range(3)]
    for path, value in zip(paths, (0.0, 0.3, 0.9), strict=True):
        _save(model, path, value)
    soup.main([*map(str, paths), "--family", "detector", "--out", str(tmp_path / "soup"),
               "--width", "0.5"])
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
        soup.soup([small, tmp_path / "nope.weights.h5"], tmp_path / "out", "detector", 0.5)
    with pytest.raises(SystemExit, match="not a detector checkpoint of width 1.0"):
        soup.soup([small, small], tmp_path / "out", "detector", 1.0)  # saved at width 0.5
    with pytest.raises(SystemExit, match="not a ocr checkpoint"):
        soup.soup([small, small], tmp_path / "out", "ocr", 0.5)  # a detector's weights
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit, match="at least two"):
        soup.main([str(small), "--family", "detector", "--out", str(tmp_path / "out")])


def test_an_ocr_soup_is_exported_untrained_by_steps_0(tmp_path):
    from inference.ocr import PlateReader
    from inference.training.ocr_model import build_model

    model = build_model(width=0.25)
    paths = [tmp_path / f"ocr{i}.weights.h5" for i in range(2)]
    for path, value in zip(paths, (0.01, 0.03), strict=True):
        _save(model, path, value)
    target = soup.soup(paths, tmp_path / "soup", "ocr", 0.25)
    assert target.name == "ocr.weights.h5"
    # its own process: the trainer sets TensorFlow's threads, which this one has started
    subprocess.run([sys.executable, "-m", "appliance", "train", "ocr", "--smoke", "--out",
                    str(tmp_path / "soup"), "--init", str(target), "--steps", "0",
                    "--width", "0.25"], check=True, cwd=REPO, capture_output=True)
    reread = build_model(width=0.25)
    reread.load_weights(target)  # the export did not train: the soup is as it was
    for w in reread.get_weights():
        np.testing.assert_allclose(w, 0.02, rtol=1e-5)
    PlateReader([str(tmp_path / "soup" / "ocr_int8.tflite")]).close()  # sha256 in its manifest


def test_ocr_steps_0_needs_weights_to_export(tmp_path):
    from appliance.cli import main as alpr

    with pytest.raises(SystemExit, match="--steps 0 only with --init"):
        alpr(["train", "ocr", "--smoke", "--out", str(tmp_path), "--steps", "0"])
