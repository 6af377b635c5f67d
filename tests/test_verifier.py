"""The plate verifier (inference.verifier): the cut it looks at, its manifest block, and how the
detector applies it to low-scoring detections. The model here is a real exported verifier
(untrained weights: these tests are about the mechanics, not its accuracy)."""

import json

import numpy as np
import pytest

from inference.detector import Detector
from inference.runtime import MODELS_DIR, ModelError, ModelIntegrityError
from inference.training.synthetic import compose_frame
from inference.verifier import VerifierSettings, plate_crop
from tests.test_detector_coarse import _copy_models, assert_refused_and_swap_keeps_current


def test_plate_crop_keeps_the_box_with_its_context_at_fixed_size():
    gray = np.zeros((200, 400), np.uint8)
    gray[80:120, 100:300] = 255  # a 200 x 40 box
    cut = plate_crop(gray, (100, 80, 200, 40), size=(40, 100), context=(0.25, 0.5))
    assert cut.shape == (40, 100) and cut.dtype == np.uint8
    # the cut spans 300 x 80 px: the box is the middle 2/3 across and the middle half down
    assert cut[20, 50] == 255 and cut[20, 20] == 255 and cut[20, 79] == 255
    assert cut[20, 10] == 0 and cut[20, 90] == 0 and cut[5, 50] == 0 and cut[35, 50] == 0


def test_plate_crop_repeats_the_frame_edge_outside_it():
    gray = np.full((100, 100), 50, np.uint8)
    gray[:, :10] = 200  # a bright left edge
    cut = plate_crop(gray, (0, 40, 40, 20), size=(40, 96), context=(0.25, 0.5))
    assert cut.shape == (40, 96)
    assert cut[:, :15].min() == 200  # the 10 px outside the frame repeat its edge column


@pytest.mark.parametrize("box", [(10, 10, 0, 5), (10, 10, 5, -1), (500, 500, 20, 10)])
def test_plate_crop_refuses_an_empty_box_or_one_outside_the_frame(box):
    with pytest.raises(ValueError):
        plate_crop(np.zeros((100, 100), np.uint8), box)


@pytest.fixture(scope="module")
def verifier_files(tmp_path_factory):
    """An exported (untrained) verifier: float and int8 files."""
    from inference.training.export import describe_tflite, export_tflite
    from inference.training.verifier_train import build_model

    out = tmp_path_factory.mktemp("verifier")
    rng = np.random.default_rng(0)
    calib = [rng.random((1, 40, 96, 1), dtype=np.float32) for _ in range(8)]
    paths = export_tflite(build_model(), calib, out, "verifier_test")
    return {kind: (p, describe_tflite(p)) for kind, p in paths.items()}


def _with_verifier(tmp_path, verifier, **block):
    import shutil

    def edit(m):
        for kind, (p, entry) in verifier.items():
            shutil.copy(p, tmp_path / p.name)
            m["files"][p.name] = {"variant": kind, **entry}
        m["verifier"] = {"files": {kind: p.name for kind, (p, _) in verifier.items()},
                         "min_score": 0.5, "vets_below": 0.6, **block}
    return _copy_models(tmp_path, edit)


def test_detector_loads_the_verifier_its_manifest_lists(tmp_path, verifier_files):
    det = Detector(_with_verifier(tmp_path, verifier_files, min_score=0.25, vets_below=0.7))
    assert det.verifier is not None and det.verifier.size == (40, 96)
    assert det.verifier.settings.min_score == 0.25 and det.verifier.settings.vets_below == 0.7
    assert det.verifier.model.path.name == "verifier_test_int8.tflite"
    assert Detector(_with_verifier(tmp_path, verifier_files), verify=False).verifier is None


def test_vetting_drops_low_scores_the_verifier_rejects_and_never_high_ones(tmp_path,
                                                                           verifier_files):
    image, _ = compose_frame([(330, 420, 120), (900, 400, 90)], seed=7)
    plain = Detector(threshold=0.2).detect(image)
    assert plain
    # min_score 0.999: an untrained verifier passes nothing, so only detections scoring at
    # least vets_below stay; min_score 0: everything stays
    strict = Detector(_with_verifier(tmp_path, verifier_files, min_score=0.999,
                                     vets_below=0.6), threshold=0.2)
    kept = strict.detect(image)
    assert [d.box for d in kept] == [d.box for d in plain if d.score >= 0.6]
    assert [d.box for d in strict.detect(image, verify=False)] == [d.box for d in plain]
    lenient = Detector(_with_verifier(tmp_path, verifier_files, min_score=0.0), threshold=0.2)
    assert [d.box for d in lenient.detect(image)] == [d.box for d in plain]


def test_the_verifier_gives_a_probability_per_box(tmp_path, verifier_files):
    det = Detector(_with_verifier(tmp_path, verifier_files))
    gray = np.random.default_rng(1).integers(0, 255, (720, 1280), dtype=np.uint8)
    p = det.verifier.probability(gray, (100, 100, 120, 30))
    assert 0.0 <= p <= 1.0
    assert det.verifier.probability(gray, (5000, 100, 120, 30)) == 0.0  # outside the frame


@pytest.mark.parametrize("block", [
    {"min_score": 1.0},
    {"min_score": "sure"},
    {"vets_below": 0.0},
    {"context": [0.25]},
    {"files": None},
])
def test_a_bad_verifier_block_is_refused_and_a_swap_keeps_the_current_model(tmp_path, block,
                                                                            verifier_files):
    assert_refused_and_swap_keeps_current(_with_verifier(tmp_path, verifier_files, **block),
                                          "verifier", "verifier")


def test_a_corrupted_verifier_file_is_refused(tmp_path, verifier_files):
    path = _with_verifier(tmp_path, verifier_files)
    target = tmp_path / "verifier_test_int8.tflite"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError):
        Detector(path)
    det = Detector()
    model = det.model
    with pytest.raises(ModelIntegrityError):
        det.swap_model(path)
    assert det.model is model


def test_a_verifier_block_without_the_variants_file_is_refused(tmp_path, verifier_files):
    path = _with_verifier(tmp_path, {"float": verifier_files["float"]})
    with pytest.raises(ModelError, match="no int8 verifier"):
        Detector(path)


def test_settings_read_from_a_manifest():
    assert VerifierSettings.from_manifest({}) is None
    s = VerifierSettings.from_manifest({"verifier": {"files": {"int8": "v.tflite"},
                                                     "min_score": 0.4, "vets_below": 0.55}})
    assert (s.min_score, s.vets_below, s.context) == (0.4, 0.55, (0.25, 0.5))


def test_shipped_manifest_verifier_files_exist_when_listed():
    m = json.loads((MODELS_DIR / "detector.manifest.json").read_text())
    for name in m.get("verifier", {}).get("files", {}).values():
        assert (MODELS_DIR / name).exists() and name in m["files"]


# --- inference.training.verifier_train: folds, jitter, the out-of-fold sweep and its rule ---

def test_folds_keep_a_dash_cam_video_together():
    from inference.training.verifier_train import FOLDS, fold_of

    assert fold_of("rl_dayride_type1_001_t3.jpg") == fold_of("rl_dayride_type1_001_t520.jpg")
    folds = {fold_of(f"openlpr_{i}.jpg") for i in range(200)}
    assert folds == set(range(FOLDS))


def test_jittered_boxes_stay_near_the_box_and_the_first_is_exact():
    from inference.training.verifier_train import jittered

    boxes = jittered((100, 50, 80, 20), np.random.default_rng(0), 50)
    assert boxes[0] == (100, 50, 80, 20) and len(boxes) == 50
    b = np.array(boxes[1:])
    cx, cy = b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2
    assert np.all(np.abs(cx - 140) <= 8.01) and np.all(np.abs(cy - 60) <= 3.01)
    assert np.all((b[:, 2] >= 68) & (b[:, 2] <= 96)) and np.all((b[:, 3] >= 17) & (b[:, 3] <= 24))


def _frames():
    """Two frames: one plate scoring 0.3 (verifier 0.9) beside clutter scoring 0.5 (verifier
    0.2); one plate scoring 0.8 and an unlabelled real plate (extra) scoring 0.4."""
    f1 = {"gt": [[10, 10, 50, 20]], "extra": [], "cands": [
        {"box": [10, 10, 50, 20], "score": 0.3, "text": "ABC123", "conf": 0.5, "row": 0},
        {"box": [200, 10, 50, 20], "score": 0.5, "text": "II", "conf": 0.0, "row": 1}]}
    f2 = {"gt": [[10, 10, 50, 20]], "extra": [[300, 300, 40, 20]], "cands": [
        {"box": [10, 10, 50, 20], "score": 0.8, "text": "XYZ987", "conf": 0.9, "row": 2},
        {"box": [300, 300, 40, 20], "score": 0.4, "text": None, "conf": 0.0, "row": 3}]}
    return [f1, f2], np.array([0.9, 0.2, 0.95, 0.1], np.float32)


def test_sweep_counts_recall_and_false_positives_per_rule():
    from inference.training import verifier_train as vt

    frames, prob = _frames()
    rows = {(r["threshold"], r["vets_below"], r["min_score"], r["min_chars"]): r
            for r in vt.sweep(frames, prob)}
    # threshold 0.25, vet below 0.6 at 0.5: the 0.3 plate passes, the clutter does not
    r = rows[(0.25, 0.6, 0.5, 0)]
    assert r["recall"] == 1.0 and r["fp_per_image"] == 0.0
    # vetting only below 0.45: the clutter (0.5) is not vetted and counts
    r = rows[(0.25, 0.45, 0.5, 0)]
    assert r["recall"] == 1.0 and r["fp_per_image"] == 0.5
    # threshold 0.35: the 0.3 plate is never proposed
    r = rows[(0.35, 0.6, 0.5, 0)]
    assert r["recall"] == 0.5 and r["fp_per_image"] == 0.0
    # min_score 0.05 keeps the clutter and the extra plate: only the clutter counts
    r = rows[(0.35, 0.6, 0.05, 0)]
    assert r["recall"] == 0.5 and r["fp_per_image"] == 0.5
    # the OCR part too: under vets_below a 4-character reading is needed (the clutter's "II"
    # is dropped although the verifier passes it at 0.05)
    r = rows[(0.25, 0.6, 0.05, 4)]
    assert r["recall"] == 1.0 and r["fp_per_image"] == 0.0


def test_choose_takes_the_best_recall_within_the_false_positive_budget():
    from inference.training.verifier_train import choose

    rows = [{"threshold": 0.3, "recall": 0.99, "fp_per_image": 0.2, "f2": 0.9, "min_chars": 0},
            {"threshold": 0.3, "recall": 0.97, "fp_per_image": 0.05, "f2": 0.95, "min_chars": 0},
            {"threshold": 0.35, "recall": 0.97, "fp_per_image": 0.05, "f2": 0.95,
             "min_chars": 0},
            {"threshold": 0.4, "recall": 0.95, "fp_per_image": 0.01, "f2": 0.96, "min_chars": 0}]
    assert choose(rows) is rows[2]  # within 0.05: best recall, then the higher threshold
    assert choose(rows[:1])["threshold"] == 0.3  # none within: best F2


def test_a_smoke_run_trains_exports_and_records_a_verifier_the_detector_loads(tmp_path, capsys):
    """End to end on synthetic frames: candidates, four folds, sweep, final training, export
    and --record into a copy of the shipped detector, which then loads and applies it."""
    import cv2

    from inference.training import verifier_train

    scenes = tmp_path / "data" / "scenes"
    (scenes / "images").mkdir(parents=True)
    rng = np.random.default_rng(3)
    with open(scenes / "labels.jsonl", "w") as f:
        for i in range(12):
            plates = [(int(rng.integers(200, 1080)), int(rng.integers(150, 600)), 120)]
            image, quads = compose_frame(plates, seed=i)
            name = f"openlpr_train_{i}.jpg"
            cv2.imwrite(str(scenes / "images" / name), image)
            q = quads[0]
            box = [float(q[:, 0].min()), float(q[:, 1].min()), float(np.ptp(q[:, 0])),
                   float(np.ptp(q[:, 1]))]
            f.write(json.dumps({"image": name, "source": "test", "plates": [
                {"box": box, "text": None, "corners": None}]}) + "\n")
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"plates": [], "reviewed": []}))
    (tmp_path / "det").mkdir()
    model = _copy_models(tmp_path / "det")
    verifier_train.main(["--data", str(tmp_path / "data"), "--model", str(model), "--work",
                         str(tmp_path / "work"), "--extra-plates", str(extra), "--epochs", "1",
                         "--threads", "1", "--record", "--smoke"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["recorded"] and out["cuts"] > 12 * verifier_train.JITTER
    m = json.loads((tmp_path / "det" / "detector.manifest.json").read_text())
    chosen = out["chosen"]
    assert m["verifier"]["min_score"] == chosen["min_score"]
    assert m["default_threshold"] == chosen["threshold"]
    assert ("confirmation" in m) == bool(chosen["min_chars"])
    det = Detector(model)
    assert det.verifier is not None and det.threshold == chosen["threshold"]
    image, _ = compose_frame([(640, 400, 120)], seed=99)
    det.detect(image)  # runs with the verifier it recorded
