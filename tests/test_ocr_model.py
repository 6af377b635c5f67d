"""The SHIPPED OCR models: integrity check, reading rendered plates, int8 close to float."""

import json
import shutil

import numpy as np
import pytest

from inference.ocr import MANIFEST, MODELS_DIR, PlateReader
from inference.rectify import rectify
from inference.runtime import ModelIntegrityError
from inference.training.render import render_plate

CASES = [("7ABC123", "US-CA"), ("8XYZ456", "US-CA"), ("ABC1234", "US-NY"), ("KD7431", "US-GEN"),
         ("123ABC", "US-GEN"), ("AB123CD", "EU-FR"), ("DDDD88", "US-FL"), ("4GHJ902", "US-CA"),
         ("ZX45821", "US-IL"), ("5LKP660", "US-CA")]


@pytest.fixture(scope="module")
def reader():
    r = PlateReader("ocr_int8.tflite", num_threads=1)
    yield r
    r.close()


def crops(seed=3):
    rng = np.random.default_rng(seed)
    for text, region in CASES:
        p = render_plate(rng, text=text, region=region, width=int(rng.integers(140, 220)))
        yield text, rectify(p.image, p.corners)


def test_manifest_lists_both_models_with_alphabet():
    m = json.loads(MANIFEST.read_text())
    assert {"ocr_int8.tflite", "ocr_float.tflite"} <= set(m["files"])
    assert m["alphabet"] == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for name in ("ocr_int8.tflite", "ocr_float.tflite"):
        assert (MODELS_DIR / name).stat().st_size <= 4 * 1024 * 1024


def test_shipped_int8_reads_rendered_plates(reader):
    results = [(text, reader.read(crop)) for text, crop in crops()]
    exact = sum(res.text == text for text, res in results)
    top5 = sum(any(t == text for t, _ in res.alternatives) for text, res in results)
    assert exact >= 8, [(t, r.text) for t, r in results]
    assert top5 >= 9
    for _, res in results:
        assert len(res.char_conf) == len(res.text)
        assert all(0 <= c <= 1 for c in res.char_conf)
        assert res.alternatives[0][0] == res.text
        assert len(res.alternatives) <= 5


def test_confidence_is_lower_on_noise(reader):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (48, 144), dtype=np.uint8)
    text, crop = next(crops())
    good, bad = reader.read(crop), reader.read(noise)
    assert np.mean(good.char_conf) > np.mean(bad.char_conf or (0.0,))


def test_int8_agrees_with_float(reader):
    flt = PlateReader("ocr_float.tflite", num_threads=1)
    agree = sum(reader.read(c).text == flt.read(c).text for _, c in crops(seed=11))
    assert agree >= 8


def test_wrong_crop_size_is_refused(reader):
    with pytest.raises(ValueError, match="crop must be"):
        reader.read(np.zeros((32, 128), np.uint8))


def test_tampered_model_is_refused(tmp_path):
    bad = tmp_path / "ocr_int8.tflite"
    data = bytearray((MODELS_DIR / "ocr_int8.tflite").read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    shutil.copy(MANIFEST, tmp_path / "ocr.manifest.json")
    with pytest.raises(ModelIntegrityError):
        PlateReader(bad, manifest=tmp_path / "ocr.manifest.json")


def test_reads_the_unit_synthetic_camera_plates(reader):
    """The plates `alpr run --source synthetic` draws (DejaVu, dark-blue text) are read."""
    import random

    from appliance.sources.synthetic import random_plate_text
    from appliance.sources.synthetic import render_plate as unit_plate

    r = random.Random(5)
    ok = 0
    for i in range(12):
        text = random_plate_text(r)
        img = unit_plate(text, 90 + 10 * i, night=i % 3 == 0)
        h, w = img.shape[:2]
        corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
        ok += reader.read(rectify(img, corners)).text == text
    assert ok >= 11
