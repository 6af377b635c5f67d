"""Audit of issue 3's runtime wrapper: `auto` falls back from ai_edge_litert to tflite_runtime
(with a warning), the sha256 is checked before any interpreter sees the file, and on the
fallback runtime the detector runs its float sibling. tflite_runtime cannot be installed beside
numpy 2, so its module is stood in for by one serving the real LiteRT interpreter under its
name; a broken ai_edge_litert is one whose Interpreter cannot be built."""

import logging
import shutil
import sys
import types

import numpy as np
import pytest

from inference.detector import Detector
from inference.runtime import MODELS_DIR, Model, ModelIntegrityError, ModelLoadError

MANIFEST = MODELS_DIR / "detector.manifest.json"
INT8 = MODELS_DIR / "detector_int8.tflite"


class Runtimes:
    """Stand-ins for the two runtime modules, recording every Interpreter built."""

    def __init__(self, monkeypatch, litert_works=False, tflite_works=True):
        from ai_edge_litert.interpreter import Interpreter as Real

        self.built = []

        def factory(name, works):
            def build(model_content, num_threads):
                self.built.append((name, num_threads))
                if not works:
                    raise RuntimeError(f"{name} cannot build an interpreter here")
                return Real(model_content=model_content, num_threads=num_threads)
            return types.SimpleNamespace(Interpreter=build)

        monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter",
                            factory("ai_edge_litert", litert_works))
        monkeypatch.setitem(sys.modules, "tflite_runtime", types.ModuleType("tflite_runtime"))
        monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter",
                            factory("tflite_runtime", tflite_works))


def test_auto_falls_back_to_tflite_runtime_with_a_warning(monkeypatch, caplog):
    reference = Model(INT8, MANIFEST)
    x = np.random.default_rng(0).random(reference.input_spec.shape, np.float32)
    expected = reference.run(x)
    rt = Runtimes(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="inference.runtime"):
        model = Model(INT8, MANIFEST, num_threads=2)
    assert model.runtime == "tflite_runtime"
    assert rt.built == [("ai_edge_litert", 2), ("tflite_runtime", 2)]  # num_threads passed on
    assert "fell back to tflite_runtime" in caplog.text
    for got, want in zip(model.run(x), expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_no_runtime_is_a_clear_error_naming_both(monkeypatch):
    Runtimes(monkeypatch, tflite_works=False)
    with pytest.raises(ModelLoadError, match="ai_edge_litert: .*tflite_runtime: "):
        Model(INT8, MANIFEST)


def test_hash_is_checked_before_any_interpreter_is_built(monkeypatch, tmp_path):
    shutil.copy(MANIFEST, tmp_path / MANIFEST.name)
    bad = tmp_path / INT8.name
    data = bytearray(INT8.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad.write_bytes(bytes(data))
    rt = Runtimes(monkeypatch, litert_works=True)
    with pytest.raises(ModelIntegrityError, match="does not match the manifest"):
        Model(bad, tmp_path / MANIFEST.name)
    assert rt.built == []


def test_detector_on_the_fallback_runtime_runs_the_float_model(monkeypatch):
    Runtimes(monkeypatch)
    det = Detector(num_threads=1)
    assert det.model.runtime == "tflite_runtime"
    assert det.model.path.name == "detector_float.tflite"
    assert det.model.input_spec.dtype == np.float32
    det.close()


@pytest.mark.parametrize("text", ["[]", '"detector"', '{"files": []}', '{"files": {"x": 1}}'])
def test_a_manifest_of_the_wrong_shape_is_an_integrity_error(tmp_path, text):
    shutil.copy(INT8, tmp_path / INT8.name)
    (tmp_path / "m.json").write_text(text)
    with pytest.raises(ModelIntegrityError, match="manifest"):
        Model(tmp_path / INT8.name, tmp_path / "m.json")
