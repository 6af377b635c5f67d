"""A reader per region: the OCR manifest's `ensemble.regions`, `shipped_models`, packaging it
(ocr_ensemble --default/--region) and the unit and `alpr eval` choosing by their region."""

import pytest

from appliance.config.recognition import RecognitionConfig
from inference.ocr import DEFAULT_MODELS, PlateReader, cascade_of, shipped_models
from inference.pipeline import build_recognizer
from inference.training import ocr_ensemble
from tests.test_ocr_ensemble import member

LISTS = {"int8": ["a_int8.tflite", "b_int8.tflite"], "float": ["a_float.tflite", "b_float.tflite"]}
EU = {"int8": ["a_int8.tflite", "c_int8.tflite"], "float": ["a_float.tflite", "c_float.tflite"]}
SETTINGS = {"min_members": 2, "sure_above": 0.3, "agree": True}


def manifest(**block):
    return {"family": "ocr", "ensemble": {**LISTS, **SETTINGS, **block}}


def test_min_members_is_bounded_by_every_reader_of_several_models():
    three = {k: [*v, f"c_{k}.tflite"] for k, v in LISTS.items()}
    m = {"ensemble": {**three, **SETTINGS, "min_members": 3, "regions": {"eu": EU}}}
    with pytest.raises(ValueError, match="min_members must be an integer 1..2"):
        shipped_models("us", "int8", m)


def test_a_region_reader_of_one_model_reads_it_alone():
    one = {"int8": ["c_int8.tflite"], "float": ["c_float.tflite"]}
    m = manifest(regions={"eu": one})
    assert shipped_models("eu", "int8", m) == ("c_int8.tflite",)
    assert cascade_of(m, one["int8"]).min_members == 1
    assert cascade_of(m, LISTS["int8"]).min_members == 2  # the default reader keeps its cascade


def test_shipped_models_picks_the_region_reader_else_the_default():
    m = manifest(regions={"eu": EU})
    assert shipped_models("eu", "int8", m) == ("a_int8.tflite", "c_int8.tflite")
    assert shipped_models("eu", "float", m) == ("a_float.tflite", "c_float.tflite")
    for region in ("us", "br", "auto"):
        assert shipped_models(region, "int8", m) == tuple(LISTS["int8"])
    assert shipped_models("eu", "int8", manifest()) == tuple(LISTS["int8"])
    assert shipped_models("us", "float", {"family": "ocr"}) == ("ocr_float.tflite",)
    with pytest.raises(ValueError, match="unknown plate region 'mars'"):
        shipped_models("mars", "int8", m)
    with pytest.raises(ValueError, match="unknown OCR variant"):
        shipped_models("eu", "fp16", m)


def test_several_regions_may_each_have_a_reader():
    us = {"int8": ["a_int8.tflite", "d_int8.tflite"], "float": ["a_float.tflite", "d_float.tflite"]}
    m = manifest(regions={"eu": EU, "us": us})
    assert shipped_models("eu", "int8", m) == tuple(EU["int8"])
    assert shipped_models("us", "float", m) == tuple(us["float"])
    assert shipped_models("auto", "int8", m) == tuple(LISTS["int8"])
    with pytest.raises(ValueError, match="regions.us must list the variants"):
        shipped_models("us", "int8", manifest(regions={"eu": EU, "us": {"int8": us["int8"]}}))


def test_a_region_reader_is_read_as_the_cascade():
    m = manifest(regions={"eu": EU})
    assert cascade_of(m, EU["int8"]).min_members == 2
    assert cascade_of(m, EU["float"]).agree is True
    assert cascade_of(m, EU["int8"][::-1]).min_members == 2 == len(EU["int8"])  # not listed: all
    assert cascade_of(m, ["a_int8.tflite", "c_int8.tflite"]).sure_above == 0.3


@pytest.mark.parametrize(("regions", "message"), [
    (["a_int8.tflite"], "ensemble.regions must be an object"),
    ({"mars": EU}, "regions.mars must be a region"),
    ({"eu": ["a_int8.tflite"]}, "regions.eu must be a region"),
    ({"eu": {"int8": EU["int8"]}}, "regions.eu must list the variants"),
    ({"eu": {**EU, "int8": []}}, "regions.eu.int8 must list member files"),
])
def test_bad_region_readers_are_refused(regions, message):
    m = manifest(regions=regions)
    with pytest.raises(ValueError, match=message):
        cascade_of(m, LISTS["int8"])
    with pytest.raises(ValueError, match=message):
        shipped_models("us", "int8", m)


def test_the_shipped_manifest_names_a_reader_for_every_region():
    for region in ("br", "auto"):
        assert shipped_models(region) == DEFAULT_MODELS
    eu = shipped_models("eu")  # run 8a alone (docs/ocr.md, a reader per region)
    assert eu == ("ocr8_int8.tflite",)
    us = shipped_models("us")  # the cascade with run 8a for run 4 (docs/ocr.md, session 8)
    assert us == ("ocr3_int8.tflite", "ocr8_int8.tflite", "ocr_int8.tflite", "ocr6_int8.tflite")
    reader = PlateReader(eu)  # its file is shipped and matches the manifest
    assert reader.cascade.min_members == 1 and reader.version
    reader.close()
    readers = PlateReader(us), PlateReader(DEFAULT_MODELS)
    assert readers[0].cascade == readers[1].cascade  # the same cascade settings
    for reader in readers:
        reader.close()


def test_the_unit_reads_with_its_regions_reader_unless_the_config_names_models():
    eu = build_recognizer(RecognitionConfig(region="eu", num_threads=1))
    assert eu.reader.models == shipped_models("eu")
    us = build_recognizer(RecognitionConfig(region="us", num_threads=1))
    assert us.reader.models == shipped_models("us") != DEFAULT_MODELS
    named = build_recognizer(RecognitionConfig(region="eu", num_threads=1,
                                               ocr_model="ocr_int8.tflite"))
    assert named.reader.models == ("ocr_int8.tflite",)
    for rec in (eu, us, named):
        rec.close()


def test_readers_are_checked_before_anything_is_written():
    ok = ocr_ensemble.readers(["a", "b", "c"], ["a", "b"], {"eu": ["a", "c"]})
    assert ok["int8"] == ["a_int8.tflite", "b_int8.tflite"]
    assert ok["regions"]["eu"]["float"] == ["a_float.tflite", "c_float.tflite"]
    assert "regions" not in ocr_ensemble.readers(["a", "b"], None, None)
    for default, regions, message in (
        (["a", "x"], None, "default reader must name members"),
        (["a", "a"], None, "default reader must name members"),
        (["a"], {"eu": []}, "eu reader must name members"),
        (["a"], {"eu": ["a", "b"]}, "members \\['c'\\] are in no reader"),
    ):
        with pytest.raises(ValueError, match=message):
            ocr_ensemble.readers(["a", "b", "c"], default, regions)
    with pytest.raises(ValueError, match="prefixes must differ"):
        ocr_ensemble.readers(["a", "a"], None, None)


def test_region_arguments_parse_or_are_refused(tmp_path, capsys):
    assert ocr_ensemble.region_arg("eu=ocr3,ocr8") == ("eu", ["ocr3", "ocr8"])
    assert ocr_ensemble.prefixes_arg("ocr3,ocr4") == ["ocr3", "ocr4"]
    a = member(tmp_path / "a")
    base = ["--member", f"{a}:ocr", "--out", str(tmp_path / "out")]
    for bad in (["--region", "mars=ocr"], ["--region", "eu"], ["--default", "ocr,9x"],
                ["--region", "eu=ocr", "--region", "eu=ocr"]):
        with pytest.raises(SystemExit):
            ocr_ensemble.main(base + bad)
        assert not (tmp_path / "out").exists()
    assert "REGION=P1,P2" in capsys.readouterr().err


@pytest.mark.slow
def test_package_a_default_and_a_european_reader(tmp_path):
    a, b, c = (member(tmp_path / n) for n in "abc")
    out = tmp_path / "out"
    m = ocr_ensemble.package([(a, "ocr"), (b, "ocrb"), (c, "ocrc")], out, None, smoke=True,
                             cascade={"min_members": 1, "sure_above": 0.5},
                             default=["ocr", "ocrb"], regions={"eu": ["ocrc", "ocr"]})
    block = m["ensemble"]
    assert block["int8"] == ["ocr_int8.tflite", "ocrb_int8.tflite"]
    assert block["regions"]["eu"]["int8"] == ["ocrc_int8.tflite", "ocr_int8.tflite"]
    assert block["regions"]["eu"]["metrics"]["int8"]["synthetic"]["n"] == 16
    manifest_path = out / "ocr.manifest.json"
    names = shipped_models("eu", "int8", manifest_path)
    reader = PlateReader([out / n for n in names])
    assert reader.models == ("ocrc_int8.tflite", "ocr_int8.tflite")
    assert reader.cascade.min_members == 1 and reader.cascade.sure_above == 0.5
