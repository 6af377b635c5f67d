"""The model runtime wrapper against the shipped detector files: integrity checks, input spec,
quantisation, and the same contract over every runtime that can build an Interpreter here."""

import json
import shutil

import numpy as np
import pytest

from inference.runtime import (
    MODELS_DIR,
    RUNTIMES,
    Model,
    ModelIntegrityError,
    ModelLoadError,
    RuntimeUnavailable,
    TensorSpec,
    available_runtimes,
    load_manifest,
)

MANIFEST = MODELS_DIR / "detector.manifest.json"
INT8 = MODELS_DIR / "detector_int8.tflite"
FLOAT = MODELS_DIR / "detector_float.tflite"


@pytest.fixture
def model_copy(tmp_path):
    """The shipped int8 model and its manifest, copied where the test may damage them."""
    shutil.copy(INT8, tmp_path / INT8.name)
    shutil.copy(MANIFEST, tmp_path / MANIFEST.name)
    return tmp_path / INT8.name, tmp_path / MANIFEST.name


def test_manifest_lists_both_variants_with_sizes_under_4mb():
    manifest = load_manifest(MANIFEST)
    assert manifest["family"] == "detector" and manifest["version"]
    coarse = set(manifest.get("coarse", {}).get("files", {}).values())  # the coarse pass
    verifier = set(manifest.get("verifier", {}).get("files", {}).values())  # its plate verifier
    assert set(manifest["files"]) == {INT8.name, FLOAT.name} | coarse | verifier
    for name, entry in manifest["files"].items():
        assert len(entry["sha256"]) == 64
        assert (MODELS_DIR / name).stat().st_size == entry["bytes"] <= 4 * 1024 * 1024


def test_input_spec_matches_manifest():
    manifest = load_manifest(MANIFEST)
    for path, dtype in ((INT8, np.int8), (FLOAT, np.float32)):
        model = Model(path, MANIFEST, num_threads=1)
        spec = model.input_spec
        assert spec.dtype == dtype and spec.shape[0] == 1 and spec.shape[-1] == 1
        assert list(spec.shape) == manifest["files"][path.name]["input"]["shape"]
        assert spec.quantized == (dtype == np.int8)
        desc = model.describe()
        assert desc["input"]["dtype"] == np.dtype(dtype).name and desc["version"] == model.version


def test_flipped_byte_is_refused_and_previous_model_keeps_working(model_copy):
    path, manifest = model_copy
    good = Model(path, manifest)
    x = np.zeros(good.input_spec.shape, np.float32)
    before = good.run(x)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="sha256.*does not match"):
        Model(path, manifest)
    after = good.run(x)  # the loaded model is untouched by the refused one
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


def test_truncated_missing_and_unlisted_files_are_refused(model_copy, tmp_path):
    path, manifest = model_copy
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelIntegrityError, match="corrupt or replaced"):
        Model(path, manifest)
    with pytest.raises(ModelIntegrityError, match="cannot read"):
        Model(tmp_path / "nothing.tflite", {"files": {"nothing.tflite": {"sha256": "0" * 64}}})
    with pytest.raises(ModelIntegrityError, match="not listed"):
        Model(path, {"family": "detector", "files": {}})
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ModelIntegrityError, match="manifest"):
        Model(path, tmp_path / "bad.json")


def test_garbage_file_with_matching_hash_fails_to_load_clearly(tmp_path):
    import hashlib

    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"this is not a flatbuffer" * 10)
    digest = hashlib.sha256(garbage.read_bytes()).hexdigest()
    manifest = {"files": {garbage.name: {"sha256": digest}}}
    with pytest.raises(ModelLoadError, match="no runtime could load"):
        Model(garbage, manifest)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_threads"):
        Model(INT8, MANIFEST, num_threads=0)
    with pytest.raises(ValueError, match="unknown runtime"):
        Model(INT8, MANIFEST, runtime="onnx")


def test_quantize_roundtrip():
    spec = TensorSpec("x", 0, (4,), np.dtype(np.int8), 1 / 255, -128)
    x = np.array([0.0, 0.6, 1.0, 2.0], np.float32)
    q = spec.quantize(x)
    assert q.dtype == np.int8 and q.tolist() == [-128, 25, 127, 127]  # clipped at the top
    np.testing.assert_allclose(spec.dequantize(q)[:3], x[:3], atol=1 / 255)


def test_int8_and_float_agree_on_a_synthetic_image():
    rng = np.random.default_rng(0)
    fm, qm = Model(FLOAT, MANIFEST), Model(INT8, MANIFEST)
    x = np.clip(rng.normal(0.4, 0.2, fm.input_spec.shape), 0, 1).astype(np.float32)
    x[..., 100:130, 200:300, :] = 0.95  # a bright plate-like block
    f_heat, f_reg = fm.run(x)
    q_heat, q_reg = qm.run(x)
    assert f_heat.shape == q_heat.shape and f_reg.shape == q_reg.shape
    assert np.abs(f_heat - q_heat).max() < 0.1
    assert np.median(np.abs(f_reg - q_reg)) < 0.1


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_runtime_contract(runtime):
    """Same checks over every runtime; one that cannot build an Interpreter here is skipped."""
    reason = available_runtimes()[runtime]
    if reason is not None:
        pytest.skip(f"{runtime} cannot build an Interpreter here: {reason}")
    model = Model(INT8, MANIFEST, num_threads=2, runtime=runtime)
    assert model.runtime == runtime
    heat, reg = model.run(np.zeros(model.input_spec.shape, np.float32))
    assert heat.dtype == np.float32 and heat.shape[-1] == 1 and reg.shape[-1] == 12
    assert 0 <= heat.min() and heat.max() <= 1


def test_explicit_missing_runtime_fails_loudly():
    reason = available_runtimes()["tflite_runtime"]
    if reason is None:
        pytest.skip("tflite_runtime works here")
    with pytest.raises((RuntimeUnavailable, ModelLoadError)):
        Model(INT8, MANIFEST, runtime="tflite_runtime")


def test_manifest_on_disk_is_valid_json():
    json.loads(MANIFEST.read_text())
