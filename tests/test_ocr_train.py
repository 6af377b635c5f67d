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
    # Weights of another width do not load into the model: a clear error, not a half-loaded model.
    with pytest.raises(ValueError, match="do not fit a width-1.4 model"):
        main(["train", "ocr", "--smoke", "--width", "1.4", "--init", str(weights),
              "--out", str(tmp_path / "wide")])


def test_width_scales_channels_and_one_is_todays_model():
    from inference.training.ocr_model import build_model, channels

    base = (24, 48, 64, 64, 128, 128)
    assert [channels(c, 1.0) for c in base] == list(base)
    assert [channels(c, 1.4) for c in base] == [32, 64, 88, 88, 176, 176]
    assert channels(24, 0.1) == 8
    assert build_model().count_params() == 401_437  # the model of runs 2-4, measured before --width
    wide = build_model(width=1.4)
    assert wide.count_params() == 752_533
    assert wide.input_shape == (None, 48, 144, 1) and wide.output_shape == (None, 36, 37)
    with pytest.raises(ValueError, match="width"):
        build_model(width=0)


@pytest.mark.slow
def test_wider_model_trains_and_reads_with_the_same_shapes(tmp_path):
    """The runtime needs nothing new for a wider model: same input and output tensors."""
    assert main(["train", "ocr", "--smoke", "--width", "1.4", "--out", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "ocr.manifest.json").read_text())
    assert manifest["training"]["width"] == 1.4
    assert manifest["training"]["parameters"] == 752_533
    reader = PlateReader(tmp_path / "ocr_int8.tflite", manifest=tmp_path / "ocr.manifest.json")
    assert reader.probs(np.full((48, 144), 128, np.uint8)).shape == (36, 37)
    assert isinstance(reader.read(np.full((48, 144), 128, np.uint8)).text, str)


def test_bad_arguments_fail_clearly(tmp_path):
    with pytest.raises(SystemExit, match="not found"):
        main(["train", "ocr", "--data", str(tmp_path / "missing"), "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="positive"):
        main(["train", "ocr", "--smoke", "--steps", "0", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--width"):
        main(["train", "ocr", "--smoke", "--width", "0", "--out", str(tmp_path)])
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
