"""Reading robust to a detector's imperfect corners: crop views, the second look, the choice
between views, and the per-frame detections exposed for the console overlay."""

import numpy as np
import pytest

from appliance.capture.live import detections_of
from inference.formats import ALPHABET
from inference.ocr import OcrResult, PlateReader
from inference.pipeline import VIEWS, CropView, PlateRecognizer
from inference.rectify import box_of, grow_quad
from inference.tracker import Tracker
from inference.training.ocr_effects import background
from inference.training.render import render_plate
from inference.types import Detection

QUAD = np.array([[100, 50], [300, 50], [300, 110], [100, 110]], np.float32)


class ScriptedReader:
    """Returns the scripted OcrResults in order, one per read (records the crops it saw)."""

    def __init__(self, results):
        self.results, self.crops = list(results), []

    def read(self, crop):
        self.crops.append(crop)
        return self.results.pop(0)


class FixedDetector:
    def __init__(self, detections):
        self.detections = detections

    def detect(self, image):
        return list(self.detections)


def result(text, p, char_conf=0.9, span=(5, 30, 36)):
    probs = np.full((len(text), 37), 0.001, np.float32)
    probs[np.arange(len(text)), [ALPHABET.index(c) for c in text]] = char_conf
    return OcrResult(text, (char_conf,) * len(text), p, ((text, p),), probs, span)


def recognizer(reader, detector=None, **kw):
    return PlateRecognizer(detector, reader, Tracker(region="auto"), region="auto", **kw)


def test_grow_quad_moves_sides_along_the_plate_axes():
    g = grow_quad(QUAD, 0.1, 0.25)
    np.testing.assert_allclose(g, [[80, 35], [320, 35], [320, 125], [80, 125]])
    np.testing.assert_allclose(grow_quad(QUAD[[2, 0, 3, 1]], 0.0, 0.0), QUAD)  # any input order


def test_confident_first_view_costs_one_read():
    reader = ScriptedReader([result("7ABC123", 0.95)])
    rec = recognizer(reader)
    image = np.full((200, 400, 3), 128, np.uint8)
    (r,) = rec.read_detections(image, [Detection(box_of(QUAD), 0.9, QUAD)])
    assert r.text == "7ABC123"
    assert len(reader.crops) == 1 and rec.second_looks == 0


def test_unsure_first_view_gets_a_second_look_and_the_surer_reading_wins():
    # A clipped crop reads a short, unsure string; the wider view reads the whole plate.
    reader = ScriptedReader([result("KM237", 0.2), result("OKM2371", 0.7)])
    rec = recognizer(reader)
    image = np.random.default_rng(0).integers(0, 255, (200, 400, 3), np.uint8)
    (r,) = rec.read_detections(image, [Detection(box_of(QUAD), 0.9, QUAD)])
    assert r.text == "OKM2371"
    assert rec.second_looks == 1 and len(reader.crops) == 2
    assert not np.array_equal(reader.crops[0], reader.crops[1])  # two different cuts


def test_candidates_of_both_views_best_view_first():
    # Letters outside every confusion group: no pattern variants, one candidate per view.
    reader = ScriptedReader([result("HKMWX", 0.2), result("NHKMWXY", 0.7)])
    (r,) = recognizer(reader).read_detections(np.zeros((200, 400, 3), np.uint8),
                                              [Detection(box_of(QUAD), 0.9, QUAD)])
    assert [c.text for c in r.candidates] == ["NHKMWXY", "HKMWX"]


def test_confident_reading_at_the_crop_edge_gets_a_second_look():
    # "L7ABC123": the plate's left edge read as an L, confidently, in the first column.
    reader = ScriptedReader([result("L7ABC123", 0.9, span=(0, 30, 36)), result("7ABC123", 0.85)])
    rec = recognizer(reader)
    (r,) = rec.read_detections(np.zeros((200, 400, 3), np.uint8),
                               [Detection(box_of(QUAD), 0.9, QUAD)])
    assert rec.second_looks == 1
    assert r.text == "7ABC123"  # fits a pattern (bonus) at nearly the same probability


def test_second_look_keeps_the_first_reading_when_it_is_more_plausible():
    reader = ScriptedReader([result("7ABC123", 0.6), result("L7ABC123", 0.3)])
    (r,) = recognizer(reader).read_detections(
        np.zeros((200, 400, 3), np.uint8), [Detection(box_of(QUAD), 0.9, QUAD)])
    assert r.text == "7ABC123"


def test_box_only_detection_is_grown_too():
    view = CropView("wide", 0.0, 0.5, 0.5)
    image = np.zeros((200, 400), np.uint8)
    image[50:110, 100:300] = 255  # the "plate" is white, its surroundings black
    crop = view.cut(image, Detection((100, 50, 200, 60), 0.9, None))
    assert crop[0, 0] == 0 and crop[24, 72] == 255  # the margin shows the surroundings
    assert CropView("tight", 0.0).cut(image, Detection((100, 50, 200, 60), 0.9))[0, 0] == 255


def test_views_must_not_be_empty():
    with pytest.raises(ValueError, match="at least one crop view"):
        recognizer(ScriptedReader([]), views=())


def test_last_detections_feed_the_console_overlay():
    det = Detection((100.0, 50.0, 200.0, 60.0), 0.8, QUAD)
    junk = Detection((10.0, 10.0, 30.0, 10.0), 0.7, None)
    reader = ScriptedReader([result("7ABC123", 0.95), result("", 0.0), result("", 0.0)])
    rec = recognizer(reader, FixedDetector([det, junk]))
    assert rec.last_detections() == ()
    rec.process(np.zeros((200, 400, 3), np.uint8), 1.7e9, 10.0, True)
    expected = [((100.0, 50.0, 200.0, 60.0), "7ABC123", 0.8), ((10.0, 10.0, 30.0, 10.0), None, 0.7)]
    assert list(rec.last_detections()) == expected
    assert detections_of(rec, []) == expected  # what the capture loop offers the live view
    rec.detector = FixedDetector([])
    rec.process(np.zeros((200, 400, 3), np.uint8), 1.7e9, 10.1, True)
    assert detections_of(rec, []) == []  # an empty frame clears the overlay


@pytest.fixture(scope="module")
def reader():
    r = PlateReader("ocr_int8.tflite", num_threads=1)
    yield r
    r.close()


def clipped_scene(text, seed, clip):
    """A rendered plate in a frame, with corners whose left side sits `clip` of the width
    inside the plate (a detector that under-estimates the plate's extent)."""
    plate = render_plate(np.random.default_rng(seed), text=text, region="US-CA", width=170,
                         camera=False)
    frame = background(400, 600, np.random.default_rng(seed), ir=False)
    h, w = plate.image.shape[:2]
    frame[150:150 + h, 200:200 + w] = plate.image
    c = plate.corners + np.array([200, 150], np.float32)
    across = c[1] - c[0]
    c[[0, 3]] += clip * across
    return frame, Detection(box_of(c), 0.9, c)


def test_real_model_reads_a_plate_whose_corners_clip_the_first_character(reader):
    wins = 0
    for seed, text in enumerate(("7ABC123", "4GHJ902", "8XYZ456", "5LKP660")):
        frame, det = clipped_scene(text, seed, 0.14)
        one = recognizer(reader, views=VIEWS[:1]).read_detections(frame, [det])[0]
        two = recognizer(reader).read_detections(frame, [det])[0]
        assert two is not None and two.text == text, (text, two and two.text)
        wins += one is None or one.text != text
    assert wins >= 1  # the clip does hurt a single tight view: the second look is what helps
