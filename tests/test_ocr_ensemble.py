"""OCR ensembles: forced alignment, combining members' readings, the shipped ensemble, config,
and packaging training runs as one (inference.training.ocr_ensemble)."""

import itertools
import json
import math
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from appliance.config.recognition import RecognitionConfig
from inference.formats import REGION_FAMILIES
from inference.ocr import (
    DEFAULT_MODELS,
    ENSEMBLE_FLOOR,
    MANIFEST,
    MODELS_DIR,
    SYMBOLS,
    PlateReader,
    align,
    combine,
    decode,
    greedy,
    shipped_models,
)
from inference.rectify import rectify
from inference.runtime import ModelIntegrityError
from inference.training import ocr_ensemble
from inference.training.render import render_plate
from tests.test_ocr_decode import columns_for


def collapse(path: list[str]) -> str:
    return "".join(ch for k, ch in enumerate(path) if ch != "_" and (k == 0 or path[k - 1] != ch))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from(["A", "B", "AB", "BA", "AA", "ABA"]))
def test_align_is_the_best_path_that_reads_the_text(seed, text):
    """Brute force over every path of a small problem: the forced alignment is the likeliest
    path that collapses to `text`."""
    rng = np.random.default_rng(seed)
    steps, syms = 6, "AB_"
    p = rng.dirichlet(np.ones(3), size=steps)
    full = np.zeros((steps, len(SYMBOLS)))
    for j, s in enumerate(syms):
        full[:, SYMBOLS.index(s)] = p[:, j]
    best, best_path = -1.0, None
    for combo in itertools.product(range(3), repeat=steps):
        path = [syms[c] for c in combo]
        if collapse(path) == text:
            prob = math.prod(p[i, c] for i, c in enumerate(combo))
            if prob > best:
                best, best_path = prob, path
    got = align(full, text)
    assert collapse(["_" if i < 0 else text[i] for i in got]) == text
    assert math.prod(full[t, SYMBOLS.index("_" if i < 0 else text[i])]
                     for t, i in enumerate(got)) == pytest.approx(best, rel=1e-9), best_path


def test_align_refuses_text_that_cannot_fit():
    with pytest.raises(ValueError, match="does not fit"):
        align(columns_for("_A_"), "ABCD")
    with pytest.raises(ValueError, match="does not fit"):
        align(columns_for("_A_"), "AAA")  # repeats need blanks between: 5 columns at least
    with pytest.raises(ValueError, match="does not fit"):
        align(columns_for("___"), "")


def test_one_member_or_identical_members_read_like_a_single_model():
    p = columns_for("_7_A_B_C_1_2_3_")
    p[9] = 1e-4
    p[9, SYMBOLS.index("1")], p[9, SYMBOLS.index("I")] = 0.55, 0.45
    single, twice = decode(p, 5), combine([p, p], 5)
    assert twice.text == single.text == "7ABC123"
    assert [t for t, _ in twice.alternatives][:2] == ["7ABC123", "7ABCI23"]
    mine = dict(single.alternatives)  # the rest tie (columns_for's flat runners-up)
    for text, prob in twice.alternatives:
        if text in mine:
            assert prob == pytest.approx(mine[text], rel=1e-6)
    assert twice.confidence == pytest.approx(single.confidence)
    assert twice.char_conf == pytest.approx(single.char_conf)
    assert twice.span == single.span
    np.testing.assert_allclose(twice.probs, greedy(p)[2])


def test_members_outvote_one_unsure_model():
    sure = columns_for("_7_A_B_C_1_2_3_")  # reads 7ABC123
    unsure = columns_for("__7_A_B_G_1_2_3")  # reads 7ABG123, its G barely above a C
    unsure[7] = 1e-4
    unsure[7, SYMBOLS.index("G")], unsure[7, SYMBOLS.index("C")] = 0.52, 0.48
    res = combine([sure, unsure], 5)
    assert res.text == "7ABC123"
    assert decode(unsure).text == "7ABG123"
    assert len(res.char_conf) == len(res.text) == len(res.probs)
    # C's distribution averages the sure model's C column and the unsure model's aligned one
    c = SYMBOLS.index("C")
    assert res.char_conf[3] == pytest.approx((sure[7, c] + 0.48) / 2, rel=1e-5)
    assert res.span == (1, 14, 15)  # first and last read column over both members
    texts = [t for t, _ in res.alternatives]
    assert texts[0] == "7ABC123" and "7ABG123" in texts
    probs = [q for _, q in res.alternatives]
    assert probs == sorted(probs, reverse=True)


def test_a_string_one_member_never_proposed_scores_the_floor():
    a, b = columns_for("_A_B_C_"), columns_for("_X_Y_Z_")
    res = combine([a, b], 5)
    pa = decode(a).confidence
    assert res.confidence == pytest.approx(math.sqrt(pa * ENSEMBLE_FLOOR), rel=1e-6)
    assert {t for t, _ in res.alternatives} >= {"ABC", "XYZ"}


def test_all_blank_members_read_empty():
    res = combine([columns_for("_" * 12)] * 2)
    assert res.text == "" and res.alternatives == ()


@pytest.fixture(scope="module")
def shipped():
    r = PlateReader(num_threads=1)
    yield r
    r.close()


def test_shipped_default_is_the_manifest_int8_ensemble(shipped):
    manifest = json.loads(MANIFEST.read_text())
    assert list(DEFAULT_MODELS) == manifest["ensemble"]["int8"]
    assert shipped.models == DEFAULT_MODELS
    assert RecognitionConfig().ocr_model is None  # unset: the shipped reader for the region
    regions = manifest["ensemble"].get("regions", {})
    for region in REGION_FAMILIES:  # a region's own reader, else the default one
        want = tuple(regions[region]["int8"]) if region in regions else DEFAULT_MODELS
        assert shipped_models(region) == want
    assert shipped_models("auto") == DEFAULT_MODELS
    for block in (manifest["ensemble"], *regions.values()):
        for kind in ("int8", "float"):
            for name in block[kind]:
                assert name in manifest["files"]
                assert (MODELS_DIR / name).stat().st_size <= 4 * 1024 * 1024
    assert manifest["ensemble"]["metrics"]["int8"]["us-crops"]["n"] > 0


def test_shipped_ensemble_reads_rendered_plates(shipped):
    rng = np.random.default_rng(5)
    texts = ["7ABC123", "8XYZ456", "ABC1234", "4GHJ902", "ZX45821", "5LKP660"]
    ok = 0
    for text in texts:
        p = render_plate(rng, text=text, region="US-CA", width=int(rng.integers(140, 220)))
        res = shipped.read(rectify(p.image, p.corners))
        ok += res.text == text
        assert len(res.char_conf) == len(res.text) and res.alternatives[0][0] == res.text
    assert ok >= 5


def test_reader_needs_a_model_and_refuses_a_tampered_member(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        PlateReader([])
    for name in DEFAULT_MODELS:
        shutil.copy(MODELS_DIR / name, tmp_path / name)
    shutil.copy(MANIFEST, tmp_path / "ocr.manifest.json")
    bad = tmp_path / DEFAULT_MODELS[1]
    data = bytearray(bad.read_bytes())
    data[1000] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        PlateReader([tmp_path / n for n in DEFAULT_MODELS], manifest=tmp_path / "ocr.manifest.json")


def test_config_takes_one_model_or_a_list():
    assert RecognitionConfig(ocr_model="ocr_int8.tflite").ocr_model == "ocr_int8.tflite"
    assert RecognitionConfig(ocr_model=["a.tflite", "b.tflite"]).ocr_model == ["a.tflite",
                                                                               "b.tflite"]
    for bad in ([], [""], ""):
        with pytest.raises(ValidationError, match="at least one OCR model"):
            RecognitionConfig(ocr_model=bad)


def member(folder, variant_source=MODELS_DIR):
    """A training-output-like folder holding the shipped run-2 files and the manifest."""
    folder.mkdir()
    for kind in ("int8", "float"):
        shutil.copy(variant_source / f"ocr_{kind}.tflite", folder / f"ocr_{kind}.tflite")
    shutil.copy(MANIFEST, folder / "ocr.manifest.json")
    return folder


@pytest.mark.slow
def test_package_two_runs_as_an_ensemble(tmp_path):
    a, b = member(tmp_path / "a"), member(tmp_path / "b")
    out = tmp_path / "out"
    m = ocr_ensemble.package([(a, "ocr"), (b, "ocrb")], out, None, smoke=True)
    assert m["ensemble"]["int8"] == ["ocr_int8.tflite", "ocrb_int8.tflite"]
    assert set(m["files"]) == {f"{p}_{k}.tflite" for p in ("ocr", "ocrb")
                               for k in ("int8", "float")}
    assert set(m["members"]) == {"ocr", "ocrb"}
    assert m["ensemble"]["metrics"]["int8"]["synthetic"]["n"] == 16
    assert json.loads((out / "ocr.manifest.json").read_text()) == m
    reader = PlateReader([out / n for n in m["ensemble"]["int8"]])  # its manifest, beside them
    assert reader.models == ("ocr_int8.tflite", "ocrb_int8.tflite")


def test_package_refuses_a_corrupt_member_before_writing(tmp_path, capsys):
    a, b = member(tmp_path / "a"), member(tmp_path / "b")
    (b / "ocr_float.tflite").write_bytes(b"truncated")
    out = tmp_path / "out"
    with pytest.raises(SystemExit, match="ocr_ensemble: .*sha256"):
        ocr_ensemble.main(["--member", f"{a}:ocr", "--member", f"{b}:ocrb", "--out", str(out)])
    assert not out.exists()
    with pytest.raises(SystemExit):
        ocr_ensemble.main(["--member", str(a), "--out", str(out)])  # no prefix
    assert "FOLDER:PREFIX" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="prefixes must differ"):
        ocr_ensemble.main(["--member", f"{a}:ocr", "--member", f"{a}:ocr", "--out", str(out)])
