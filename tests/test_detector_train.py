"""Training pieces: sample generation and target encoding (fast), and a smoke run of
`alpr train detector` on a tiny generated data folder (slow: imports TensorFlow)."""

import argparse
import json

import cv2
import numpy as np
import pytest

from inference.detector import decode, nms
from inference.training.scenes import PatchSampler, Scene, box_quad, targets
from inference.training.synthetic import compose_frame, draw_plate


def _data_dir(root, n_scenes=6):
    (root / "scenes" / "images").mkdir(parents=True)
    (root / "crops" / "images").mkdir(parents=True)
    with open(root / "scenes" / "labels.jsonl", "w") as f:
        for i in range(n_scenes):
            image, quads = compose_frame([(160, 90, 40)], size=(320, 180), seed=i)
            name = f"openlpr_{'val' if i % 3 == 0 else 'train'}_{i}.jpg"
            cv2.imwrite(str(root / "scenes" / "images" / name), image)
            q = quads[0]
            box = [float(q[:, 0].min()), float(q[:, 1].min()), float(np.ptp(q[:, 0])),
                   float(np.ptp(q[:, 1]))]
            f.write(json.dumps({"image": name, "source": "test", "plates": [
                {"box": box, "text": None, "corners": None}]}) + "\n")
    with open(root / "crops" / "crops.jsonl", "w") as f:
        for i in range(3):
            cv2.imwrite(str(root / "crops" / "images" / f"c{i}.jpg"), draw_plate("ABC12" + str(i)))
            rec = {"image": f"c{i}.jpg", "state": "ca", "text": "ABC12" + str(i)}
            f.write(json.dumps(rec) + "\n")
    return root


def test_targets_decode_back_to_the_plates():
    quads = np.stack([box_quad((20, 40, 80, 20)), box_quad((150, 150, 40, 20))])
    t = targets(quads, np.array([True, False]), 256)
    boxes, scores, corners = decode(t["heat"][..., 0], t["reg"], threshold=0.99)
    keep = nms(boxes, scores)
    np.testing.assert_allclose(sorted(boxes[keep].tolist()),
                               [[20, 40, 80, 20], [150, 150, 40, 20]], atol=1e-3)
    np.testing.assert_allclose(corners[keep][np.argmin(boxes[keep][:, 0])], quads[0], atol=1e-3)
    assert t["corner_w"].max() == 1.0 and 0 < t["corner_w"][t["corner_w"] > 0].min() < 1


def test_tiny_and_cut_off_plates_are_dont_care():
    quads = np.stack([box_quad((20, 40, 6, 3)), box_quad((240, 100, 60, 20))])
    t = targets(quads, np.array([True, True]), 256)
    assert t["heat"].max() == 0 and t["reg_w"].max() == 0
    assert t["heat_w"][10, 5, 0] == 0 and t["heat_w"][26, 62, 0] == 0 and t["heat_w"][0, 0, 0] == 1


def test_sampler_is_deterministic_and_labels_stay_on_plates():
    image, quads = compose_frame([(300, 200, 80)], size=(640, 360), seed=1)
    scene = Scene(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), np.stack(quads), np.array([True]))
    crops = [cv2.cvtColor(draw_plate(), cv2.COLOR_BGR2GRAY)]
    sampler = PatchSampler([scene], crops, size=128)
    a = [sampler.sample(np.random.default_rng(7)) for _ in range(2)]
    for (pa, qa, _, _), (pb, qb, _, _) in zip(a, [sampler.sample(np.random.default_rng(7))] * 2,
                                          strict=True):
        np.testing.assert_array_equal(pa, pb)
        np.testing.assert_array_equal(qa, qb)
    rng = np.random.default_rng(0)
    for _ in range(30):
        patch, quads, exact, _ = sampler.sample(rng)
        assert patch.shape == (128, 128) and patch.dtype == np.uint8
        assert quads.shape == (len(exact), 4, 2)


@pytest.fixture(scope="module")
def stage1(tmp_path_factory):
    """A stage-1 smoke run (shared by the stage tests): (data dir, its --out, the parser)."""
    from inference.training import detector_cli

    root = tmp_path_factory.mktemp("det_smoke")
    data = _data_dir(root / "data")
    parser = argparse.ArgumentParser()
    detector_cli.add_arguments(parser)
    out = root / "out"
    assert detector_cli.run(parser.parse_args(["--smoke", "--data", str(data), "--out",
                                               str(out)])) == 0
    return data, out, parser


@pytest.mark.slow
def test_train_smoke_writes_models_and_manifest(stage1, tmp_path):
    from inference.detector import Detector
    from inference.training import detector_cli

    data, out, parser = stage1
    manifest = json.loads((out / "detector.manifest.json").read_text())
    assert set(manifest["files"]) == {f"detector{p}_{k}.tflite" for p in ("", "_coarse")
                                      for k in ("float", "int8")}
    assert manifest["coarse"]["input"] == [32, 64]  # half the full pass's input
    assert manifest["validation"]["int8"]["images"] == 2
    assert manifest["training"]["steps"] == 3 and manifest["training"]["seed"] == 1234
    assert manifest["training"]["threads"] == 1  # the reproducible default
    assert manifest["version"] == "1.0.0"  # stage 1
    with pytest.raises(SystemExit, match="--threads"):
        detector_cli.run(parser.parse_args(["--smoke", "--data", str(data), "--out",
                                            str(tmp_path / "x"), "--threads", "0"]))
    det = Detector(out / "detector_int8.tflite")  # its own manifest, found beside it
    assert det.model.input_spec.shape == (1, 64, 128, 1)
    assert det.coarse.input_spec.shape == (1, 32, 64, 1)
    assert isinstance(det.detect(np.zeros((90, 160, 3), np.uint8)), list)


@pytest.mark.slow
def test_train_smoke_stage_2_resumes_with_fine_tune_settings(stage1, tmp_path):
    from inference.training import detector_cli

    data, out, parser = stage1
    # stage 2: continue from the final weights of that run, with the fine-tune settings
    weights = out / "detector_train.weights.h5"
    assert weights.exists()
    with pytest.raises(SystemExit, match="not found"):
        detector_cli.run(parser.parse_args(["--smoke", "--data", str(data), "--out",
                                            str(tmp_path / "x"), "--resume", str(tmp_path)
                                            + "/missing.h5"]))
    out2 = tmp_path / "out2"
    args = parser.parse_args(["--smoke", "--data", str(data), "--out", str(out2),
                              "--resume", str(weights), "--lr", "0.0005"])
    assert detector_cli.run(args) == 0
    training = json.loads((out2 / "detector.manifest.json").read_text())["training"]
    assert training["resume"] == str(weights) and training["lr"] == 0.0005
    assert training["corner_loss"] == 5.0 and training["min_plate_w"] == 16.0
    assert json.loads((out2 / "detector.manifest.json").read_text())["version"] == "1.1.0"


@pytest.mark.slow
def test_train_smoke_stage_3_hard_negatives_and_export_only(stage1, tmp_path):
    from inference.training import detector_cli

    data, out, parser = stage1
    weights = out / "detector_train.weights.h5"
    # stage 3: hard negatives mined on the training frames (here: written by hand)
    mined = tmp_path / "mined.json"
    with pytest.raises(SystemExit, match="--resume"):
        detector_cli.run(parser.parse_args(["--smoke", "--data", str(data), "--out",
                                            str(tmp_path / "x"), "--hard-negatives", str(mined)]))
    mined.write_text(json.dumps({"split": "val", "images": {}}))
    with pytest.raises(SystemExit, match="not 'train'"):
        detector_cli.run(parser.parse_args(["--smoke", "--data", str(data), "--out",
                                            str(tmp_path / "x"), "--resume", str(weights),
                                            "--hard-negatives", str(mined)]))
    mined.write_text(json.dumps({"split": "train", "images": {f"openlpr_train_{i}.jpg": [
        {"box": [20, 20, 40, 15], "kind": "hard_negative"},
        {"box": [250, 120, 40, 12], "kind": "dont_care"}] for i in (1, 2, 4, 5)}}))
    out3 = tmp_path / "out3"
    assert detector_cli.run(parser.parse_args(["--smoke", "--data", str(data), "--out", str(out3),
                                               "--resume", str(weights),
                                               "--hard-negatives", str(mined)])) == 0
    manifest = json.loads((out3 / "detector.manifest.json").read_text())
    assert manifest["training"]["p_negative"] == 0.2
    assert manifest["data"]["hard_negatives"] == str(mined)
    assert manifest["version"] == "1.2.0" and manifest["training"]["p_two_line"] == 0
    # export-only keeps the version (and the record) of the run that trained the checkpoint
    assert detector_cli.run(parser.parse_args(["--smoke", "--data", str(data), "--out", str(out3),
                                               "--export-only", "--threshold", "0.5"])) == 0
    manifest = json.loads((out3 / "detector.manifest.json").read_text())
    assert manifest["version"] == "1.2.0" and manifest["default_threshold"] == 0.5
    assert manifest["training"]["p_negative"] == 0.2



@pytest.mark.slow
def test_train_smoke_time_limit_stops_early_and_exports(stage1, tmp_path):
    from inference.training import detector_cli

    data, out, parser = stage1
    out_t = tmp_path / "out_t"  # a limit shorter than one step: stops after the first
    assert detector_cli.run(parser.parse_args(["--smoke", "--data", str(data), "--out",
                                               str(out_t), "--resume",
                                               str(out / "detector_train.weights.h5"),
                                               "--time-limit", "0.00001"])) == 0
    manifest = json.loads((out_t / "detector.manifest.json").read_text())
    assert manifest["training"]["steps"] == 1 and manifest["training"]["planned_steps"] == 3
    assert manifest["training"]["time_limit_s"] == pytest.approx(0.0006)
    assert (out_t / "detector_train.weights.h5").exists()
    assert set(manifest["validation"]) == {"float", "int8"}

def test_stage_option_picks_stage_4_settings(tmp_path):
    from inference.training import detector_cli
    from inference.training.detector_train import STAGE3, STAGE_VERSIONS

    parser = argparse.ArgumentParser()
    detector_cli.add_arguments(parser)
    weights, mined = tmp_path / "w.h5", tmp_path / "mined.json"
    weights.write_bytes(b"x")
    mined.write_text("{}")
    base = ["--resume", str(weights), "--hard-negatives", str(mined)]
    stage3 = detector_cli._stage_settings(parser.parse_args(base))
    stage4 = detector_cli._stage_settings(parser.parse_args([*base, "--stage", "4"]))
    assert stage3 == {**STAGE3, "resume": weights, "hard_negatives": mined, "extra_plates": None}
    assert stage4["p_two_line"] > 0 and stage4["sample_stream"] == 4
    assert stage4["lr"] < stage3["lr"] and STAGE_VERSIONS[stage4["stage"]] == "1.3.0"
    assert {k: v for k, v in stage4.items() if k not in ("p_two_line", "sample_stream", "lr",
                                                          "stage")} == \
        {k: v for k, v in stage3.items() if k not in ("p_two_line", "sample_stream", "lr",
                                                       "stage")}
    with pytest.raises(SystemExit, match="--stage needs"):
        detector_cli._stage_settings(parser.parse_args(["--resume", str(weights), "--stage", "4"]))
    with pytest.raises(SystemExit):  # argparse: only stages 3 and 4 take mined regions
        parser.parse_args([*base, "--stage", "2"])


def test_smaller_minimum_width_settings_change_targets_and_samples():
    quads = np.stack([box_quad((20, 40, 14, 5)), box_quad((100, 100, 60, 20))])
    loose = targets(quads, np.array([True, False]), 256)
    strict = targets(quads, np.array([True, False]), 256, box_corner_weight=0.1,
                     min_plate_w=16)
    assert loose["heat"][10, 6, 0] == 1.0 and strict["heat"][10, 6, 0] == 0  # 14 px plate
    assert strict["heat_w"][10, 6, 0] == 0  # ... is "don't care", not a negative
    assert strict["corner_w"].max() == 0.1 and loose["corner_w"].max() == 1.0
    image, scene_quads = compose_frame([(300, 200, 80)], size=(640, 360), seed=1)
    scene = Scene(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), np.stack(scene_quads),
                  np.array([True]))
    crops = [cv2.cvtColor(draw_plate(), cv2.COLOR_BGR2GRAY)]
    sampler = PatchSampler([scene], crops, size=128, p_paste=0.5, p_random=0.0, min_w=40)
    rng = np.random.default_rng(3)
    widths = [np.ptp(q[:, 0]) for _ in range(40) for q in sampler.sample(rng)[1]]
    assert widths and min(widths) > 40 * 0.6  # rotation/yaw shrink the extent a little


def test_corner_measure_scores_exact_and_shifted_corners():
    from inference.training.detector_corners import measure
    from inference.types import Detection

    quad = np.array([[100, 100], [300, 110], [300, 170], [100, 160]], np.float32)

    class Shifted:  # a detector whose corners are off by (dx, 0)
        def __init__(self, dx):
            self.dx = dx

        def detect(self, frame):
            q = quad + [self.dx, 0]
            return [Detection((*q.min(0), *np.ptp(q, 0)), 0.9, q)]

    frames = [(np.zeros((720, 1280), np.uint8), quad)] * 3
    exact, off = measure(Shifted(0), frames), measure(Shifted(10), frames)
    assert exact["recall"] == 1.0 and exact["corner_err_px_median"] == 0
    assert off["corner_err_px_median"] == 10 and off["corner_err_pct_median"] == 5.0
    assert measure(Shifted(400), frames)["found"] == 0  # no overlap: not found


def test_threshold_sweep_counts_and_prefers_recall(tmp_path):
    from inference.eval_data import LabelledImage, Plate
    from inference.training.detector_threshold import choose, sweep
    from inference.types import Detection

    path = tmp_path / "a.jpg"
    cv2.imwrite(str(path), np.zeros((40, 60, 3), np.uint8))
    items = [LabelledImage(path, [Plate((10, 10, 20, 8))]) for _ in range(2)]

    class Fixed:  # the plate at 0.35, a false positive at 0.5
        def detect(self, image):
            return [Detection((40, 30, 10, 5), 0.5), Detection((10, 10, 20, 8), 0.35)]

    rows = {r["threshold"]: r for r in sweep(items, Fixed(), grid=(0.3, 0.4, 0.6))}
    assert rows[0.3]["recall"] == 1.0 and rows[0.3]["fp_per_image"] == 1.0
    assert rows[0.4]["recall"] == 0.0 and rows[0.4]["fp_per_image"] == 1.0
    assert rows[0.6]["recall"] == 0.0 and rows[0.6]["fp_per_image"] == 0.0
    assert choose(list(rows.values())) == 0.3
    assert choose([{"threshold": 0.3, "f2": 0.8}, {"threshold": 0.4, "f2": 0.8}]) == 0.4
