"""Extra plates (the plates the scene labels leave out, labelled by eye): the file reader, the
trainer's scene bank, mining with completed labels, `alpr eval --extra-plates` and stage 5's
settings. Synthetic files only, no real data."""

import argparse
import json

import cv2
import numpy as np
import pytest

from inference import eval_cli
from inference.eval_data import (
    DatasetError,
    ExtraPlates,
    LabelledImage,
    Plate,
    load_extra_plates,
    load_scenes,
)
from inference.training.detector_mining import mine
from inference.training.scenes import box_quad, load_scene_bank
from inference.types import Detection

DASH = "RobertLucian/license-plate-dataset"
TRAIN, VAL = "rl_dayride_type1_001_t3.jpg", "rl_dayride_type1_002_t5.jpg"


def _extra_file(path, entries, reviewed=()):
    path.write_text(json.dumps({"what": "test", "how": "by hand", "plates": entries,
                                "reviewed": list(reviewed)}))
    return path


def _entry(image, box, split, **kw):
    return {"image": image, "box": box, "split": split, "note": "", **kw}


def test_extra_plates_file_is_read_per_split(tmp_path):
    path = _extra_file(tmp_path / "x.json", [
        _entry(TRAIN, [10, 20, 60, 15], "train"),
        _entry(TRAIN, [200, 20, 30, 15], "train", dont_care=True),
        _entry(VAL, [5, 5, 50, 12], "val")], reviewed=[TRAIN, VAL])
    train = load_extra_plates(path, "train")
    assert train.plates == {TRAIN: [(10.0, 20.0, 60.0, 15.0)]}
    assert train.dont_care == {TRAIN: [(200.0, 20.0, 30.0, 15.0)]}
    assert train.reviewed == {TRAIN} and train.boxes(TRAIN) == [(10, 20, 60, 15),
                                                                   (200, 20, 30, 15)]
    val = load_extra_plates(path, "val")
    assert val.plates == {VAL: [(5.0, 5.0, 50.0, 12.0)]} and not val.dont_care
    assert set(load_extra_plates(path).plates) == {TRAIN, VAL}
    assert val.boxes("other.jpg") == []


@pytest.mark.parametrize("entry, error", [
    (_entry(VAL, [5, 5, 50, 12], "train"), "split 'val'"),  # a validation frame as training
    (_entry(TRAIN, [5, 5, 0, 12], "train"), "no area"),
    (_entry(TRAIN, [5, 5, 12], "train"), "not an extra plate"),
    ({"box": [5, 5, 50, 12], "split": "train"}, "not an extra plate"),
])
def test_bad_extra_plates_are_refused(tmp_path, entry, error):
    with pytest.raises(DatasetError, match=error):
        load_extra_plates(_extra_file(tmp_path / "x.json", [entry]))


def test_a_file_that_is_not_an_extra_plates_file_is_refused(tmp_path):
    for text in ("{", "[]", '{"plates": {}}', '{"what": 1}'):
        (tmp_path / "x.json").write_text(text)
        with pytest.raises(DatasetError, match="x.json"):
            load_extra_plates(tmp_path / "x.json")
    with pytest.raises(DatasetError, match="missing.json"):
        load_extra_plates(tmp_path / "missing.json")


def _scenes(root, images):
    """A scenes folder: {name: [labelled boxes]}, black 2560x400 frames."""
    (root / "images").mkdir(parents=True)
    with open(root / "labels.jsonl", "w") as f:
        for name, boxes in images.items():
            cv2.imwrite(str(root / "images" / name), np.zeros((400, 2560, 3), np.uint8))
            f.write(json.dumps({"image": name, "source": DASH,
                                "plates": [{"box": b} for b in boxes]}) + "\n")
    return root


def test_scene_bank_takes_extra_plates_as_box_positives_and_dont_care(tmp_path):
    root = _scenes(tmp_path / "scenes", {TRAIN: [[10, 10, 100, 30]]})
    extra = ExtraPlates({TRAIN: [(200, 100, 100, 40)]}, {TRAIN: [(800, 100, 60, 20)]}, {TRAIN})
    mined = {TRAIN: [{"box": [1000, 100, 60, 20], "kind": "dont_care"}]}
    (scene,) = load_scene_bank(root, "train", mined=mined, extra=extra)
    np.testing.assert_allclose(scene.quads[1], box_quad((100, 50, 50, 20)))  # 1280/2560
    assert scene.exact.tolist() == [False, False]  # corners from the boxes, as labelled
    np.testing.assert_allclose(scene.ignore, [box_quad((500, 50, 30, 10)),
                                              box_quad((400, 50, 30, 10))])
    (bare,) = load_scene_bank(root, "train")
    assert bare.quads.shape == (1, 4, 2) and bare.ignore.shape == (0, 4, 2)
    with pytest.raises(ValueError, match="training split"):
        load_scene_bank(root, "val", extra=extra)


class _Detector:
    def __init__(self, dets):
        self.dets = dets

    def detect(self, image):
        return self.dets


class _Recognizer:  # reads nothing: no candidate looks like a plate to the OCR
    def read_detections(self, image, dets):
        return [None] * len(dets)


def test_mining_with_completed_labels_makes_dash_cam_hard_negatives(tmp_path):
    names = ("rl_dayride_type1_001_t1.jpg", "rl_dayride_type1_001_t2.jpg")
    for name in names:
        cv2.imwrite(str(tmp_path / name), np.zeros((100, 400, 3), np.uint8))
    items = [LabelledImage(tmp_path / n, [Plate((10, 10, 40, 12))], DASH) for n in names]
    dets = [Detection((10, 10, 40, 12), 0.9),  # the labelled plate
            Detection((100, 10, 40, 12), 0.5),  # an extra plate (in both frames' files)
            Detection((200, 10, 40, 12), 0.4),  # an extra don't-care region
            Detection((300, 10, 40, 12), 0.3)]  # nothing: a lamp, say
    extra = ExtraPlates({n: [(102, 11, 40, 12)] for n in names},
                        {n: [(200, 10, 40, 12)] for n in names}, {names[0]})
    out = mine(items, _Detector(dets), _Recognizer(), extra=extra)
    reviewed, unreviewed = (out["images"][n] for n in names)
    assert [(c["box"][0], c["kind"], c["reason"]) for c in reviewed] == [
        (200, "dont_care", "extra"), (300, "hard_negative", None)]
    # a frame nobody looked at keeps the incomplete-labels rule
    assert [(c["box"][0], c["reason"]) for c in unreviewed] == [(200, "extra"), (300, "labels")]
    before = mine(items, _Detector(dets), _Recognizer())
    assert before["counts"]["dont_care"] == 6 and "hard_negative" not in before["counts"]


def _eval_folder(root):
    root = _scenes(root, {VAL: [[100, 100, 80, 20]], "rl_dayride_type1_003_t9.jpg": []})
    extra = _extra_file(root.parent / "extra.json", [
        _entry(VAL, [400, 100, 80, 20], "val"), _entry(TRAIN, [400, 100, 80, 20], "train")])
    return root, extra


def test_evaluate_ignores_detections_on_extra_plates(tmp_path):
    root, extra_path = _eval_folder(tmp_path / "scenes")
    items = load_scenes(root, "val")
    boxes = [(102, 100, 80, 20), (405, 102, 80, 20), (408, 100, 80, 20), (900, 50, 60, 20)]
    recognize = lambda image: [(b, []) for b in boxes]  # noqa: E731 - the same four everywhere
    plain = eval_cli.evaluate(items, recognize, reading=False)
    s = eval_cli.evaluate(items, recognize, reading=False,
                          extra=load_extra_plates(extra_path, "val"))
    assert (s["plates"], s["detected"], s["recall"]) == (plain["plates"], 1, 1.0)
    assert s["false_positives"] == plain["false_positives"] == 3 + 4
    # both detections on the extra plate are ignored (COCO-style: one region, many detections)
    assert s["on_extra_plates"] == 2 and s["false_positives_extra_ignored"] == 5
    assert s["fp_per_image_extra_ignored"] == 2.5 and s["fp_per_image"] == 3.5
    assert [r["on_extra_plates"] for r in s["per_image"]] == [2, 0]
    assert "on_extra_plates" not in plain and "extras ignored" not in \
        eval_cli.format_summary(plain)
    assert "  extras ignored  5 (2.5 per image; 2 detections on extra plates)" in \
        eval_cli.format_summary(s)


def test_eval_cli_extra_plates_json_and_errors(tmp_path, capsys):
    root, extra_path = _eval_folder(tmp_path / "scenes")
    parser = argparse.ArgumentParser()
    eval_cli.add_arguments(parser)
    out = tmp_path / "eval.json"
    assert eval_cli.run(parser.parse_args([str(root), "--no-read", "--extra-plates",
                                           str(extra_path), "--json", str(out)])) == 0
    data = json.loads(out.read_text())
    assert tuple(data) == eval_cli.JSON_KEYS + eval_cli.EXTRA_KEYS
    assert data["fp_per_image_extra_ignored"] <= data["fp_per_image"]
    assert {"false_positives", "on_extra_plates"} <= set(data["per_image"][0])
    assert "extras ignored" in capsys.readouterr().out
    bad = _extra_file(tmp_path / "bad.json", [_entry(VAL, [1, 1, 5, 5], "train")])
    with pytest.raises(SystemExit, match="alpr eval: .*bad.json"):
        eval_cli.run(parser.parse_args([str(root), "--no-read", "--extra-plates", str(bad)]))
    openalpr = tmp_path / "bench"
    openalpr.mkdir()
    cv2.imwrite(str(openalpr / "a.jpg"), np.zeros((50, 50, 3), np.uint8))
    (openalpr / "a.txt").write_text("a.jpg 1 1 10 5 ABC123\n")
    with pytest.raises(SystemExit, match="scenes layout"):
        eval_cli.run(parser.parse_args([str(openalpr), "--no-read", "--extra-plates",
                                        str(extra_path)]))


def _stage_cli(tmp_path):
    """`alpr train detector`'s parser and the files a fine-tune stage names: (parser, weights,
    mined, extra, the --resume/--hard-negatives arguments)."""
    from inference.training import detector_cli

    parser = argparse.ArgumentParser()
    detector_cli.add_arguments(parser)
    weights, mined = tmp_path / "w.h5", tmp_path / "mined.json"
    extra = _extra_file(tmp_path / "extra.json", [])
    weights.write_bytes(b"x")
    mined.write_text("{}")
    return parser, weights, mined, extra, ["--resume", str(weights), "--hard-negatives", str(mined)]


def test_trainer_sampler_takes_the_training_split_of_the_extra_plates(tmp_path):
    from inference.training.detector_train import TrainConfig, build_sampler

    _scenes(tmp_path / "scenes", {TRAIN: [[10, 10, 100, 30]], VAL: [[10, 10, 100, 30]]})
    extra = _extra_file(tmp_path / "extra.json", [_entry(TRAIN, [200, 100, 100, 40], "train"),
                                                  _entry(VAL, [200, 100, 100, 40], "val")])
    sampler, n_scenes, n_crops = build_sampler(TrainConfig(data=tmp_path, extra_plates=extra))
    assert (n_scenes, n_crops) == (1, 0)  # the validation frame is not trained on
    assert sampler.scenes[0].quads.shape == (2, 4, 2)
    bad = _extra_file(tmp_path / "bad.json", [_entry(VAL, [1, 1, 5, 5], "train")])
    with pytest.raises(SystemExit, match="extra plates: .*bad.json"):
        build_sampler(TrainConfig(data=tmp_path, extra_plates=bad))


@pytest.mark.parametrize(("stage", "parent", "changed", "version"), [
    (5, 4, ("steps", "sample_stream", "stage"), "1.4.0"),
    (6, 5, ("p_two_line", "sample_stream", "stage"), "1.5.0"),  # more square / two-line plates
    (7, 5, ("sample_stream", "stage"), "1.6.0"),  # stage 6 without that change
    (8, 6, ("p_negative", "p_random", "sample_stream", "stage"), "1.8.0"),  # more negatives
])
def test_stages_with_extra_plates_change_only_what_they_say(tmp_path, stage, parent, changed,
                                                             version):
    from inference.training import detector_cli
    from inference.training.detector_train import FINETUNE_STAGES, STAGE_VERSIONS

    parser, weights, mined, extra, base = _stage_cli(tmp_path)
    got = detector_cli._stage_settings(parser.parse_args(
        [*base, "--stage", str(stage), "--extra-plates", str(extra)]))
    settings, before = FINETUNE_STAGES[stage], FINETUNE_STAGES[parent]
    assert got == {**settings, "resume": weights, "hard_negatives": mined, "extra_plates": extra}
    assert STAGE_VERSIONS[got["stage"]] == version and got["sample_stream"] == stage
    assert {k: v for k, v in settings.items() if k not in changed} == \
        {k: v for k, v in before.items() if k not in changed}
    with pytest.raises(SystemExit, match="go together"):
        detector_cli._stage_settings(parser.parse_args([*base, "--stage", str(stage)]))


def test_stage_arguments_are_checked(tmp_path):
    from inference.training import detector_cli
    from inference.training.detector_train import STAGE5, STAGE6, STAGE_VERSIONS

    parser, weights, mined, extra, base = _stage_cli(tmp_path)
    assert STAGE6["p_two_line"] > STAGE5["p_two_line"]
    # 1.5.0 is the unshipped stage-6 candidate's number: no two stages share a version
    assert len(set(STAGE_VERSIONS.values())) == len(STAGE_VERSIONS)
    with pytest.raises(SystemExit, match="go together"):
        detector_cli._stage_settings(parser.parse_args([*base, "--extra-plates", str(extra)]))
    with pytest.raises(SystemExit, match="not found"):
        detector_cli._stage_settings(parser.parse_args(
            [*base, "--stage", "5", "--extra-plates", str(tmp_path / "missing.json")]))
    with pytest.raises(SystemExit, match="--stage needs"):
        detector_cli._stage_settings(parser.parse_args(
            ["--resume", str(weights), "--stage", "6", "--extra-plates", str(extra)]))
    with pytest.raises(SystemExit):  # argparse: there is no stage 9
        parser.parse_args([*base, "--stage", "9", "--extra-plates", str(extra)])


@pytest.mark.parametrize("minutes", ["0", "-5"])
def test_time_limit_must_be_positive(tmp_path, minutes):
    from inference.training import detector_cli

    parser = argparse.ArgumentParser()
    detector_cli.add_arguments(parser)
    (tmp_path / "scenes").mkdir()
    (tmp_path / "scenes" / "labels.jsonl").write_text("")
    with pytest.raises(SystemExit, match="--time-limit must be positive"):
        detector_cli.run(parser.parse_args(["--data", str(tmp_path), "--out",
                                            str(tmp_path / "out"), "--time-limit", minutes]))
    assert not (tmp_path / "out").exists()  # refused before anything was written
