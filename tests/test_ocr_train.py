"""`alpr train ocr --smoke`: trains, exports float + int8 and a manifest the runtime accepts."""

import hashlib
import json

import numpy as np
import pytest

from appliance.cli import main
from inference.ocr import PlateReader
from inference.training.ocr_data import encode, is_validation


@pytest.mark.slow
def test_smoke_training_exports_loadable_models(tmp_path):
    assert main(["train", "ocr", "--smoke", "--out", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "ocr.manifest.json").read_text())
    assert manifest["family"] == "ocr"
    assert manifest["alphabet"] == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for name in ("ocr_int8.tflite", "ocr_float.tflite"):
        entry = manifest["files"][name]
        assert entry["sha256"] == hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
    assert manifest["metrics"]["int8"]["synthetic"]["n"] > 0
    for name in ("ocr_int8.tflite", "ocr_float.tflite"):
        reader = PlateReader(tmp_path / name, manifest=tmp_path / "ocr.manifest.json")
        cols = reader.probs(np.full((48, 144), 128, np.uint8))
        assert cols.shape == (36, 37)
        np.testing.assert_allclose(cols.sum(axis=1), 1.0, atol=0.05)
    # The Keras weights are kept so a later run can continue from them (--init).
    weights = tmp_path / "ocr.weights.h5"
    assert weights.is_file()
    again = tmp_path / "again"
    assert main(["train", "ocr", "--smoke", "--out", str(again), "--init", str(weights)]) == 0
    assert json.loads((again / "ocr.manifest.json").read_text())["training"]["init"] == weights.name


def test_bad_arguments_fail_clearly(tmp_path):
    with pytest.raises(SystemExit, match="not found"):
        main(["train", "ocr", "--data", str(tmp_path / "missing"), "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="positive"):
        main(["train", "ocr", "--smoke", "--steps", "0", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--init weights"):
        main(["train", "ocr", "--smoke", "--init", str(tmp_path / "no.h5"), "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--transcribed"):
        main(["train", "ocr", "--data", str(tmp_path), "--transcribed", str(tmp_path / "no.json"),
              "--out", str(tmp_path)])


def test_loose_crops_move_each_side_out_or_slightly_in():
    from inference.training.ocr_data import loosen

    quad = np.array([[0, 0], [100, 0], [100, 50], [0, 50]], np.float32)
    rng = np.random.default_rng(0)
    assert loosen(quad, rng, p=0.0) is quad
    for _ in range(50):
        q = loosen(quad, rng, p=1.0)
        assert -2.1 <= -q[0, 0] <= 14.1 and -2.1 <= q[1, 0] - 100 <= 14.1
        assert -2.1 <= -q[0, 1] <= 10.1 and -2.1 <= q[3, 1] - 50 <= 10.1
        assert q[0, 0] == q[3, 0] and q[0, 1] == q[1, 1]  # sides stay straight


def test_label_encoding_and_split_rule():
    assert list(encode("7abc-123")[:8]) == [7, 10, 11, 12, 1, 2, 3, 36]
    with pytest.raises(ValueError):
        encode("ABCDEFGHIJK")
    with pytest.raises(ValueError):
        encode("--")
    names = [f"img{i}.jpg" for i in range(2000)]
    share = sum(map(is_validation, names)) / len(names)
    assert 0.15 < share < 0.25
    assert is_validation("x/ak1165.jpg") == is_validation("ak1165.jpg")


def test_transcribed_plates_of_training_frames_only_become_training_crops(tmp_path):
    import cv2

    from inference.training.ocr_data import load_transcribed
    from inference.training.synthetic import compose_frame

    scenes = tmp_path / "scenes"
    (scenes / "images").mkdir(parents=True)
    src = "RobertLucian/license-plate-dataset"
    names = ["rl_dayride_type1_001_t1.jpg", "rl_dayride_type1_002_t1.jpg"]  # train, val video
    with open(scenes / "labels.jsonl", "w") as f:
        for name in names:
            image, _ = compose_frame([(300, 200, 120)], size=(640, 360), seed=1)
            cv2.imwrite(str(scenes / "images" / name), image)
            f.write(json.dumps({"image": name, "source": src, "plates": []}) + "\n")
    plates = [{"image": n, "plate": 0, "box": [240, 170, 120, 60], "text": "B 58-dtk"}
              for n in names]
    plates.append({"image": names[0], "plate": 1, "box": [10, 10, 50, 20], "text": None})
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"plates": plates}))
    crops = load_transcribed(path, scenes)
    assert [(c.name, c.text) for c in crops] == [(names[0], "B58DTK")]  # val frame left out
    assert crops[0].image.dtype == np.uint8 and crops[0].corners.shape == (4, 2)
    path.write_text(json.dumps({"plates": [{**plates[0], "image": "elsewhere.jpg"}]}))
    with pytest.raises(ValueError, match="elsewhere.jpg"):
        load_transcribed(path, scenes)
