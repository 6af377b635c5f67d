"""Stage 3 of the detector: hard-negative mining, don't-care regions in the targets, and
windows centred on mined negatives (synthetic arrays and files only, no real data)."""

import json

import cv2
import numpy as np
import pytest

from inference.eval_data import LabelledImage, Plate
from inference.ocr import OcrResult
from inference.pipeline import PlateReading
from inference.training.detector_mining import likely_plate, mine
from inference.training.scenes import (
    PatchSampler,
    Scene,
    _scene_window,
    box_quad,
    load_scene_bank,
    targets,
)
from inference.types import Candidate, Detection


def _scene(negatives=(), ignore=(), plates=()):
    img = np.full((360, 640), 40, np.uint8)
    for x, y, w, h in negatives:  # bright blocks: easy to find again in a patch
        img[int(y):int(y + h), int(x):int(x + w)] = 250
    quads = np.asarray([box_quad(b) for b in plates], np.float32).reshape(-1, 4, 2)
    return Scene(img, quads, np.ones(len(quads), bool),
                 np.asarray([box_quad(b) for b in negatives], np.float32).reshape(-1, 4, 2),
                 np.asarray([box_quad(b) for b in ignore], np.float32).reshape(-1, 4, 2))


def test_ignore_boxes_are_dont_care_but_not_a_plate_peak_inside_them():
    plate = np.stack([box_quad((100, 100, 60, 20))])
    plain = targets(plate, np.array([True]), 256)
    t = targets(plate, np.array([True]), 256, ignore=np.stack([box_quad((20, 20, 40, 16)),
                                                               box_quad((90, 90, 90, 40))]))
    assert plain["heat_w"].min() == 1
    assert t["heat_w"][7, 10, 0] == 0 and t["heat"][7, 10, 0] == 0  # inside the first box
    assert t["heat_w"][27, 32, 0] == 1  # the plate's peak, inside the second box, still counts
    assert t["heat_w"][23, 23, 0] == 0  # the rest of the second box does not
    assert t["heat_w"][50, 50, 0] == 1  # outside both
    for k in ("heat", "reg", "reg_w", "corner_w"):
        np.testing.assert_array_equal(t[k], plain[k])
    empty = targets(plate, np.array([True]), 256, ignore=np.zeros((0, 4, 2), np.float32))
    for k in plain:
        np.testing.assert_array_equal(empty[k], plain[k])


def test_a_plate_wholly_outside_the_patch_blanks_no_band_of_cells():
    for box in ((-100, 100, 50, 20), (100, -100, 50, 20), (300, 100, 50, 20)):
        t = targets(np.stack([box_quad(box)]), np.array([True]), 256)
        assert t["heat_w"].min() == 1, box  # it used to blank whole rows/columns (slice to -k)


def test_windows_centre_on_a_negative_at_the_scale_asked():
    scene = _scene(negatives=[(400, 200, 40, 20)])
    rng = np.random.default_rng(0)
    for _ in range(20):
        patch, quads, ignore = _scene_window(rng, scene, 128, False, focus=(scene.negatives[0], 30))
        ys, xs = np.nonzero(patch > 200)
        assert 25 <= np.ptp(xs) + 1 <= 34  # 30 px asked, small rotation and resampling
        assert abs(xs.mean() - 64) <= 0.35 * 128 + 2 and abs(ys.mean() - 64) <= 0.35 * 128 + 2
        assert quads.shape == (0, 4, 2) and ignore.shape == (0, 4, 2)


def test_sampler_draws_negative_windows_at_the_detector_scale_and_carries_ignores():
    scene = _scene(negatives=[(400, 200, 64, 32)], ignore=[(50, 50, 60, 20)])
    sampler = PatchSampler([scene], [], size=128, p_paste=0, p_random=0, p_distractor=0,
                           p_negative=1.0, input_size=(320, 180))
    rng = np.random.default_rng(1)
    for _ in range(20):
        patch, quads, exact, ignore = sampler.sample(rng)
        ys, xs = np.nonzero(patch > (int(np.median(patch)) + int(patch.max())) / 2)  # exposure

        # seen at 320/640 = 0.5 in a full frame: 32 px, times 0.6-1.7
        assert len(xs) and 0.6 * 32 - 3 <= np.ptp(xs) + 1 <= 1.7 * 32 + 3
        assert quads.shape == (0, 4, 2) and ignore.shape == (1, 4, 2)
        np.testing.assert_allclose(np.ptp(ignore[0][:, 0]) / np.ptp(xs), 60 / 64, rtol=0.3)
    with pytest.raises(ValueError, match="must not exceed 1"):
        PatchSampler([scene], [], p_paste=0.5, p_random=0.3, p_negative=0.3)


def test_without_mined_negatives_the_sampler_draws_as_before():
    scene = _scene(plates=[(300, 150, 80, 25)])
    crops = [np.full((40, 80), 200, np.uint8)]
    old = PatchSampler([scene], crops, size=128)
    new = PatchSampler([scene], crops, size=128, p_negative=0.3)  # no scene has negatives
    ra, rb = np.random.default_rng(5), np.random.default_rng(5)
    for _ in range(20):
        a, b = old.sample(ra), new.sample(rb)
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)
        assert b[3].shape == (0, 4, 2)


def test_scene_bank_attaches_mined_regions_scaled(tmp_path):
    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "openlpr_train_1.jpg"), np.zeros((400, 2560, 3),
                                                                            np.uint8))
    (tmp_path / "labels.jsonl").write_text(json.dumps(
        {"image": "openlpr_train_1.jpg", "plates": [{"box": [10, 10, 100, 30]}]}) + "\n")
    mined = {"openlpr_train_1.jpg": [{"box": [200, 100, 100, 40], "kind": "hard_negative"},
                                     {"box": [800, 100, 60, 20], "kind": "dont_care"}]}
    (scene,) = load_scene_bank(tmp_path, "train", mined=mined)
    np.testing.assert_allclose(scene.negatives[0], box_quad((100, 50, 50, 20)))  # 1280/2560
    np.testing.assert_allclose(scene.ignore[0], box_quad((400, 50, 30, 10)))
    (bare,) = load_scene_bank(tmp_path, "train")
    assert bare.negatives.shape == bare.ignore.shape == (0, 4, 2)
    with pytest.raises(ValueError, match="training split"):
        load_scene_bank(tmp_path, "val", mined=mined)


def test_likely_plate_rule():
    assert likely_plate("7ABC123", 0.9, 0.05, "US-CA")
    assert likely_plate("AB12CD", 0.9, 0.5, None)
    assert not likely_plate("AB12CD", 0.9, 0.1, None)  # unsure and no format
    assert not likely_plate("JETFLEX", 0.99, 0.9, None)  # letters only
    assert not likely_plate("500", 0.99, 0.9, None)  # too short
    assert not likely_plate("7ABC123", 0.5, 0.9, "US-CA")  # characters unsure


class _Detector:
    def __init__(self, dets):
        self.dets = dets

    def detect(self, image):
        return self.dets


class _Recognizer:  # reads whatever text was planted for a detection's x
    def __init__(self, texts):
        self.texts = texts

    def read_detections(self, image, dets):
        out = []
        for d in dets:
            text, conf, region = self.texts[d.box[0]]
            if not text:
                out.append(None)
                continue
            ocr = OcrResult(text, (0.9,) * len(text), conf, ((text, conf),), np.zeros((0, 37)))
            out.append(PlateReading(d, ocr, (Candidate(text, conf, region),)))
        return out


def test_mine_sorts_unexplained_detections(tmp_path):
    path = tmp_path / "a.jpg"
    cv2.imwrite(str(path), np.zeros((100, 300, 3), np.uint8))
    dets = [Detection((10, 10, 40, 12), 0.9), Detection((100, 10, 40, 12), 0.5),
            Detection((200, 10, 40, 12), 0.4), Detection((12, 60, 40, 12), 0.3)]
    texts = {10: ("ABC123", 0.9, None), 100: ("7XYZ123", 0.8, "US-CA"), 200: ("", 0, None),
             12: ("FIAT", 0.9, None)}
    items = [LabelledImage(path, [Plate((10, 10, 40, 12))], "openalpr/benchmarks:br"),
             LabelledImage(path, [Plate((10, 10, 40, 12))], "RobertLucian/license-plate-dataset")]
    out = mine(items, _Detector(dets), _Recognizer(texts))
    # both items share the file name: the second one's entries win, so count per kind instead
    assert out["counts"]["frames"] == 2 and out["counts"]["hard_negative"] == 2
    assert out["counts"]["dont_care"] == 4
    assert out["counts"]["by_source"] == {
        "RobertLucian/license-plate-dataset:dont_care:labels": 2,
        "RobertLucian/license-plate-dataset:dont_care:ocr": 1,
        "openalpr/benchmarks:br:dont_care:ocr": 1, "openalpr/benchmarks:br:hard_negative": 2}
    found = out["images"]["a.jpg"]
    assert [c["box"][0] for c in found] == [100, 200, 12]  # the labelled plate is no candidate
    assert [c["reason"] for c in found] == ["ocr", "labels", "labels"]


def test_mining_a_missing_data_folder_fails_clearly(tmp_path):
    from inference.training.detector_mining import main

    with pytest.raises(SystemExit, match="detector_mining: .*labels.jsonl"):
        main(["--out", str(tmp_path / "mined.json"), "--data", str(tmp_path / "missing")])
    assert not (tmp_path / "mined.json").exists()
