"""`alpr eval` and the labelled-folder readers on tiny generated folders."""

import argparse
import json

import cv2
import numpy as np
import pytest

from inference import eval_cli
from inference.eval_data import (
    DatasetError,
    load_dataset,
    parse_openalpr_line,
    scene_split,
)
from inference.training.synthetic import compose_frame


def _openalpr_folder(root, n=3):
    root.mkdir()
    for i in range(n):
        image, quads = compose_frame([(300 + 200 * i, 400, 90)], seed=i)
        q = quads[0]
        x, y, w, h = q[:, 0].min(), q[:, 1].min(), np.ptp(q[:, 0]), np.ptp(q[:, 1])
        cv2.imwrite(str(root / f"car{i}.jpg"), image)
        sep = "\t" if i % 2 else " "
        (root / f"car{i}.txt").write_text(
            sep.join([f"car{i}.jpg", str(int(x)), str(int(y)), str(int(w)), str(int(h)),
                      "7ABC123"]) + "\n")
    cv2.imwrite(str(root / "unlabelled.png"), np.zeros((100, 100, 3), np.uint8))
    return root


def test_eval_openalpr_folder_prints_and_writes_json(tmp_path, capsys):
    folder = _openalpr_folder(tmp_path / "bench")
    out = tmp_path / "eval.json"
    parser = argparse.ArgumentParser()
    eval_cli.add_arguments(parser)
    assert eval_cli.run(parser.parse_args([str(folder), "--no-read", "--json", str(out)])) == 0
    text = capsys.readouterr().out
    assert "images            3" in text and "read_exact        n/a" in text
    data = json.loads(out.read_text())
    assert tuple(data) == eval_cli.JSON_KEYS
    assert data["images"] == 3 and data["plates"] == 3 and data["detected"] == 3
    assert data["read_exact"] is None and data["read_top5"] is None
    assert data["ms_median"] > 0 and data["ms_p95"] >= data["ms_median"]
    row = data["per_image"][0]
    assert tuple(row) == eval_cli.ROW_KEYS
    assert row["truth"] == ["7ABC123"] and row["detected"] == 1
    assert "false positives   0 (0.0 per image)" in text


def test_evaluate_with_a_reader_counts_exact_and_top5(tmp_path):
    from inference.detector import Detector

    items = load_dataset(_openalpr_folder(tmp_path / "b"))

    detector = Detector()

    def recognize(image):
        return [(d.box, ["7A8C123", "7ABC123"]) for d in detector.detect(image)]

    s = eval_cli.evaluate(items, recognize)
    assert s["read_exact"] == 0.0 and s["read_top5"] == 1.0
    assert s["per_image"][0]["read"] == ["7A8C123"]


def test_scenes_layout_uses_the_validation_split(tmp_path):
    root = tmp_path / "scenes"
    (root / "images").mkdir(parents=True)
    names = ["rl_dayride_type1_001_t3.jpg", "rl_dayride_type1_002_t5.jpg", "openlpr_val_7.jpg",
             "openlpr_train_8.jpg"]
    with open(root / "labels.jsonl", "w") as f:
        for n in names:
            cv2.imwrite(str(root / "images" / n), np.zeros((10, 10, 3), np.uint8))
            f.write(json.dumps({"image": n, "source": "x", "plates": [
                {"box": [1, 1, 5, 2], "text": None, "corners": None}]}) + "\n")
    val = [i.path.name for i in load_dataset(root)]
    assert val == ["rl_dayride_type1_002_t5.jpg", "openlpr_val_7.jpg"]
    assert len(load_dataset(root, "all")) == 4


def test_split_keeps_whole_videos_together():
    for t in range(1, 200):
        assert scene_split(f"rl_dayride_type1_001_t{t}.jpg", "") == "train"
        assert scene_split(f"rl_dayride_type1_003_t{t}.jpg", "") == "val"
    br = [scene_split(f"br_X{i:04d}.jpg", "") for i in range(500)]
    assert 0.1 < br.count("val") / 500 < 0.3


def test_openalpr_subfolders_named_files_and_negatives(tmp_path):
    """`alpr eval endtoend/` reads us/ and eu/ together; a line goes to the image it names
    (the br benchmark's PAG5219.txt describes PAG5219.png, beside an unlabelled .jpg); an
    empty .txt is an image with no plate; an image nothing describes is skipped."""
    us, eu = tmp_path / "us", tmp_path / "eu"
    for folder, names in ((us, ("a.jpg", "PAG5219.jpg", "PAG5219.png")), (eu, ("b.JPG", "c.png"))):
        folder.mkdir()
        for n in names:
            cv2.imwrite(str(folder / n), np.zeros((20, 20, 3), np.uint8))
    (us / "a.txt").write_text("a.jpg\t1\t2\t3\t4\tABC123\n")
    (us / "PAG5219.txt").write_text("PAG5219.png 5 6 7 8 PAG5219\n")
    (eu / "b.txt").write_text("b.JPG 1 1 5 5 B1\nb.JPG 9 9 5 5 B2\n")
    (eu / "c.txt").write_text("")
    (tmp_path / ".hidden").mkdir()
    cv2.imwrite(str(tmp_path / ".hidden" / "x.jpg"), np.zeros((20, 20, 3), np.uint8))
    got = {i.name: [p.text for p in i.plates] for i in load_dataset(tmp_path)}
    assert got == {"us/a.jpg": ["ABC123"], "us/PAG5219.png": ["PAG5219"],
                   "eu/b.JPG": ["B1", "B2"], "eu/c.png": []}


def test_bad_labels_give_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="expected 'filename x y w h PLATE'"):
        parse_openalpr_line("car.jpg 1 2 3", "car.txt:1")
    with pytest.raises(DatasetError, match="not numeric"):
        parse_openalpr_line("car.jpg 1 2 three 4 ABC", "car.txt:1")
    with pytest.raises(DatasetError, match="no area"):
        parse_openalpr_line("car.jpg 1 2 0 4 ABC", "car.txt:1")
    assert parse_openalpr_line("a.jpg\t1\t2\t3\t4\tab-12", "w").text == "AB-12"
    with pytest.raises(DatasetError, match="not a folder"):
        load_dataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no labelled images"):
        load_dataset(tmp_path / "empty")


def test_eval_cli_reports_bad_folder_without_traceback(tmp_path):
    parser = argparse.ArgumentParser()
    eval_cli.add_arguments(parser)
    with pytest.raises(SystemExit, match="alpr eval: .*not a folder"):
        eval_cli.run(parser.parse_args([str(tmp_path / "nope"), "--no-read"]))
