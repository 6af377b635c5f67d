"""A transcription of scene plates becomes an OpenALPR-format folder that `alpr eval` loads."""

import pytest

from inference.eval_data import load_dataset
from inference.training.transcribed import write_folder


def image_folder(tmp_path, *names):
    """A folder of placeholder image files (write_folder links them; nothing decodes them)."""
    images = tmp_path / "images"
    images.mkdir()
    for name in names:
        (images / name).write_bytes(b"not decoded here")
    return images


def test_transcription_becomes_an_openalpr_folder(tmp_path):
    images = image_folder(tmp_path, "a.jpg", "b.jpg")
    labels = {"plates": [
        {"image": "a.jpg", "plate": 1, "box": [10, 20, 30.5, 8], "text": None},
        {"image": "a.jpg", "plate": 0, "box": [100, 50, 60, 15], "text": "B58DTK"},
        {"image": "b.jpg", "plate": 0, "box": [5, 6, 70, 18], "text": "IF99STK"}]}
    out = tmp_path / "out"
    assert write_folder(labels, images, out) == 2
    assert write_folder(labels, images, out) == 2  # re-running replaces the links
    items = {i.path.name: i for i in load_dataset(out)}
    a = items["a.jpg"].plates
    assert [p.text for p in a] == ["B58DTK", None] and a[1].box == (10, 20, 30.5, 8)
    assert items["b.jpg"].plates[0].text == "IF99STK"
    assert (out / "a.jpg").resolve() == (images / "a.jpg").resolve()


def test_a_listed_image_that_is_missing_is_a_clear_error(tmp_path):
    labels = {"plates": [{"image": "gone.jpg", "plate": 0, "box": [1, 2, 3, 4], "text": "X1"}]}
    with pytest.raises(FileNotFoundError, match="gone.jpg"):
        write_folder(labels, tmp_path, tmp_path / "out")


def test_countries_keep_only_those_plates_text_and_images(tmp_path):
    images = image_folder(tmp_path, "uk.jpg", "pk.jpg", "mixed.jpg")
    labels = {"plates": [
        {"image": "uk.jpg", "plate": 0, "box": [1, 2, 30, 8], "text": "SA54SGO", "country": "GB"},
        {"image": "pk.jpg", "plate": 0, "box": [1, 2, 30, 8], "text": "AHG760", "country": "PK"},
        {"image": "mixed.jpg", "plate": 0, "box": [1, 2, 30, 8], "text": "ERBKK911",
         "country": "DE"},
        {"image": "mixed.jpg", "plate": 1, "box": [50, 2, 30, 8], "text": "BY721",
         "country": "PK"}]}
    out = tmp_path / "out"
    assert write_folder(labels, images, out, frozenset({"GB", "DE"})) == 2
    items = {i.path.name: [(p.text, p.box[0]) for p in i.plates] for i in load_dataset(out)}
    # the other country's plate stays a labelled box (a detection there is no false positive)
    assert items == {"uk.jpg": [("SA54SGO", 1)], "mixed.jpg": [("ERBKK911", 1), (None, 50)]}


def test_entries_with_a_split_are_selected_by_it(tmp_path):
    """scene_extra_text.json's shape: no plate index, a split per entry."""
    images = image_folder(tmp_path, "rl.jpg", "uk.jpg")
    labels = {"plates": [
        {"image": "rl.jpg", "box": [10, 20, 30, 8], "split": "train", "text": "B97TWD",
         "country": "RO"},
        {"image": "rl.jpg", "box": [100, 50, 60, 15], "split": "train", "text": None,
         "country": "RO"},
        {"image": "uk.jpg", "box": [5, 6, 70, 18], "split": "val", "text": "EA13SLZ",
         "country": "GB"}]}
    out = tmp_path / "out"
    assert write_folder(labels, images, out, split="val") == 1
    assert [(i.path.name, [p.text for p in i.plates]) for i in load_dataset(out)] == [
        ("uk.jpg", ["EA13SLZ"])]
    assert write_folder(labels, images, tmp_path / "all") == 2
    rl = next(i for i in load_dataset(tmp_path / "all") if i.path.name == "rl.jpg")
    assert [p.text for p in rl.plates] == ["B97TWD", None]  # in the file's order
    labels["plates"][0]["split"] = "test"
    with pytest.raises(ValueError, match=r"plates\[0\]: split must be train or val"):
        write_folder(labels, images, tmp_path / "bad")
