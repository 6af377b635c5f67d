"""Audit of the shipped models against issues 3 and 4: every file is at most 4 MB, listed in its
family's manifest with a matching sha256 and its input spec, float and int8 both shipped, and
each manifest records its version, data and validation metrics (the OCR's also its alphabet)."""

import hashlib
import json

import pytest

from inference.runtime import MODELS_DIR, Model

LIMIT = 4 * 1024 * 1024
MANIFESTS = {"detector": MODELS_DIR / "detector.manifest.json",
             "ocr": MODELS_DIR / "ocr.manifest.json"}


def _manifest(family):
    return json.loads(MANIFESTS[family].read_text())


def test_every_shipped_file_is_listed_hashed_and_small():
    listed = {}
    for family in MANIFESTS:
        for name, entry in _manifest(family)["files"].items():
            assert name not in listed, f"{name} listed twice"
            listed[name] = (family, entry)
    on_disk = {p.name for p in MODELS_DIR.glob("*.tflite")}
    assert on_disk == set(listed), "a model file without a manifest entry (or the reverse)"
    for name, (_family, entry) in listed.items():
        data = (MODELS_DIR / name).read_bytes()
        assert len(data) <= LIMIT and len(data) == entry["bytes"], name
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        assert entry["variant"] in ("int8", "float") and entry["input"]["shape"], name


@pytest.mark.parametrize("family", sorted(MANIFESTS))
def test_manifest_records_version_data_and_validation_metrics(family):
    m = _manifest(family)
    assert m["family"] == family and m["version"]
    variants = {e["variant"] for e in m["files"].values()}
    assert variants == {"int8", "float"}
    if family == "detector":
        assert m["data"] and m["training"]
        for kind in ("int8", "float"):
            figures = m["validation"][kind]
            assert {"images", "plates", "detected", "recall", "fp_per_image"} <= set(figures)
    else:
        assert m["alphabet"] == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        assert m["validation_split"]
        for member in m["members"].values():
            for kind in ("int8", "float"):
                assert member["metrics"][kind], member
                sets = member["metrics"][kind].values()
                assert all({"n", "exact", "top5"} <= set(v) for v in sets)


@pytest.mark.parametrize("family", sorted(MANIFESTS))
def test_input_spec_in_the_manifest_is_the_files_own(family):
    m = _manifest(family)
    for name, entry in m["files"].items():
        model = Model(MODELS_DIR / name, m)
        spec = model.input_spec
        assert list(spec.shape) == entry["input"]["shape"], name
        assert spec.dtype.name == entry["input"]["dtype"], name
        model.close()
