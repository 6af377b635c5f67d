"""The by-eye text of the extra scene plates becomes an OpenALPR folder that `alpr eval` loads."""

import json

import pytest

from inference.eval_data import load_dataset
from inference.training.extra_eval_set import main, write_folder

PLATES = [
    {"image": "rl_a_t1.jpg", "box": [10.4, 20.6, 30.5, 8.2], "split": "train", "text": "B97TWD",
     "country": "RO", "note": None},
    {"image": "rl_a_t1.jpg", "box": [100, 50, 60, 15], "split": "train", "text": None,
     "country": "RO", "note": "blurred"},
    {"image": "uk.jpg", "box": [5, 6, 70, 18], "split": "val", "text": "EA13SLZ",
     "country": "GB", "note": None},
    {"image": "br.jpg", "box": [1, 2, 90, 30], "split": "train", "text": "PJT2809",
     "country": "BR", "note": None},
    {"image": "blur.jpg", "box": [1, 2, 40, 10], "split": "val", "text": None,
     "country": "RO", "note": "blurred"},
]


@pytest.fixture()
def scenes(tmp_path):
    images = tmp_path / "data" / "scenes" / "images"
    images.mkdir(parents=True)
    for name in ("rl_a_t1.jpg", "uk.jpg", "br.jpg", "blur.jpg"):
        (images / name).write_bytes(b"not decoded here")
    text = tmp_path / "text.json"
    text.write_text(json.dumps({"what": "test", "plates": PLATES}))
    return tmp_path, images, text


def test_readable_plates_become_lines_that_the_loader_reads(scenes):
    root, images, text = scenes
    out = root / "out"
    assert main(["--data", str(root / "data"), "--text", str(text), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "br.jpg", "br.txt", "rl_a_t1.jpg", "rl_a_t1.txt", "uk.jpg", "uk.txt"]
    assert (out / "rl_a_t1.txt").read_text() == "rl_a_t1.jpg 10 21 30 8 B97TWD\n"
    assert (out / "uk.jpg").resolve() == (images / "uk.jpg").resolve()
    items = {i.path.name: [(p.text, p.box) for p in i.plates] for i in load_dataset(out)}
    assert items["uk.jpg"] == [("EA13SLZ", (5, 6, 70, 18))] and len(items) == 3
    # re-running over the same folder replaces the links
    assert main(["--data", str(root / "data"), "--text", str(text), "--out", str(out)]) == 0


def test_split_and_countries_select_plates(scenes):
    _, images, _ = scenes
    doc = {"plates": PLATES}
    assert write_folder(doc, images, images.parent / "v", split="val") == (1, 1)
    assert write_folder(doc, images, images.parent / "t", split="train") == (2, 2)
    assert write_folder(doc, images, images.parent / "c", countries=frozenset({"RO", "BR"})) \
        == (2, 2)
    assert sorted(p.name for p in (images.parent / "c").glob("*.txt")) == ["br.txt", "rl_a_t1.txt"]


@pytest.mark.parametrize("bad, message", [
    ({"image": "uk.jpg", "box": [1, 2, 0, 4], "split": "val", "text": "X1"}, "w, h > 0"),
    ({"image": "uk.jpg", "box": [1, 2, 3, 4], "split": "val", "text": "ab-1"}, "A-Z0-9"),
    ({"image": "uk.jpg", "box": [1, 2, 3, 4], "split": "test", "text": "X1"}, "train or val"),
    ({"image": "uk.jpg", "box": [1, 2, 3, 4]}, "image, box, split, text"),
])
def test_a_malformed_entry_is_a_clear_error(scenes, bad, message):
    _, images, _ = scenes
    with pytest.raises(ValueError, match=message):
        write_folder({"plates": [*PLATES, bad]}, images, images.parent / "out")
    assert not (images.parent / "out").exists()  # nothing half-written


def test_a_missing_image_or_file_is_a_clear_error(scenes, capsys):
    root, images, text = scenes
    (images / "br.jpg").unlink()
    out = root / "out"
    assert main(["--data", str(root / "data"), "--text", str(text), "--out", str(out)]) == 2
    assert "br.jpg" in capsys.readouterr().err and not out.exists()
    text.write_text("{not json")
    assert main(["--data", str(root / "data"), "--text", str(text), "--out", str(out)]) == 2
    assert "extra_eval_set" in capsys.readouterr().err
