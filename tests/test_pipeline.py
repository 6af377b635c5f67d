"""End to end: synthetic frames -> detect -> rectify -> read (shipped int8 OCR) -> rank -> track.

The detector is injected: a fake that reports the rendered plate's true corners, so this tests
everything after detection with the real OCR model; the shipped detector is exercised too when
it is present.
"""

import numpy as np
import pytest

from inference.ocr import MODELS_DIR, PlateReader
from inference.pipeline import PlateRecognizer, build_recognizer
from inference.rectify import box_of
from inference.tracker import Tracker
from inference.training.ocr_effects import background
from inference.training.render import render_plate
from inference.types import Detection


class GroundTruthDetector:
    """Reports the corners it is told for the next frame (a fake with the detector's contract)."""

    def __init__(self):
        self.next: list[np.ndarray] = []
        self.calls = 0

    def detect(self, image):
        self.calls += 1
        return [Detection(box_of(c), 0.9, c.astype(np.float32)) for c in self.next]


def scene(plate, x, y, seed=0):
    frame = background(720, 1280, np.random.default_rng(seed), ir=False)
    h, w = plate.image.shape[:2]
    frame[y:y + h, x:x + w] = plate.image
    return frame, plate.corners + np.array([x, y], np.float32)


@pytest.fixture(scope="module")
def reader():
    return PlateReader("ocr_int8.tflite", num_threads=1)


def test_single_frame_read(reader):
    plate = render_plate(np.random.default_rng(5), text="7ABC123", region="US-CA", width=180,
                         camera=False)
    frame, corners = scene(plate, 500, 400)
    det = GroundTruthDetector()
    det.next = [corners]
    rec = PlateRecognizer(det, reader, Tracker(), region="us")
    (reading,) = rec.read_image(frame)
    assert reading.text == "7ABC123"
    assert reading.candidates[0].region == "US-CA"
    assert det.calls == 1


def test_stream_gives_one_voted_read_with_direction(reader):
    plate = render_plate(np.random.default_rng(9), text="4GHJ902", region="US-CA", width=170,
                         camera=False)
    det = GroundTruthDetector()
    rec = PlateRecognizer(det, reader, Tracker(timeout_s=0.5, repeat_window_s=30), region="us")
    reads = []
    for i in range(8):
        frame, corners = scene(plate, 200 + 60 * i, 380, seed=i)
        det.next = [corners]
        reads += rec.process(frame, 1.7e9 + i / 10, 500 + i / 10, True)
    det.next = []
    reads += rec.process(frame, 1.7e9 + 2, 502.0, True)  # > timeout later: the track closes
    assert len(reads) == 1
    r = reads[0]
    assert r.plate == "4GHJ902"
    assert r.direction == "right"
    assert r.frames_used == 8
    assert r.first_seen_mono == 500 and r.last_seen_mono == pytest.approx(500.7)
    assert r.candidates[0].text == r.plate and 0 < r.confidence <= 1
    assert r.crop_jpeg[:2] == b"\xff\xd8" and r.frame_jpeg[:2] == b"\xff\xd8"
    # the read names what made it (a fake detector has no model file: only the reader)
    assert r.extra["models"] == {"region": "us", "ocr": {"files": ["ocr_int8.tflite"],
                                                         "version": reader.version}}
    assert "char_conf" in r.extra
    assert rec.flush() == []


def test_nothing_detected_nothing_read(reader):
    det = GroundTruthDetector()
    rec = PlateRecognizer(det, reader, Tracker(), region="us")
    frame = background(720, 1280, np.random.default_rng(1), ir=False)
    assert rec.process(frame, 1.7e9, 10.0, True) == []
    assert rec.flush() == []


def test_unknown_region_fails_early(reader):
    with pytest.raises(ValueError, match="unknown plate region"):
        PlateRecognizer(GroundTruthDetector(), reader, Tracker(), region="xx")


@pytest.mark.skipif(not (MODELS_DIR / "detector_int8.tflite").exists(),
                    reason="detector model not shipped in this branch yet")
def test_shipped_models_end_to_end():
    from appliance.config.recognition import RecognitionConfig

    rec = build_recognizer(RecognitionConfig(num_threads=1))
    plate = render_plate(np.random.default_rng(2), text="6TRJ244", region="US-CA", width=150,
                         camera=False)
    for i in range(6):
        frame, _ = scene(plate, 300 + 40 * i, 420, seed=i)
        rec.process(frame, 1.7e9 + i / 10, 100 + i / 10, True)
    reads = rec.flush()
    assert [r.plate for r in reads] == ["6TRJ244"]
    models = reads[0].extra["models"]
    assert models["detector"] == {"file": "detector_int8.tflite",
                                  "version": rec.detector.model.version}
    assert models["ocr"]["files"] == list(rec.reader.models) and models["region"] == "us"


def test_operating_point_comes_from_the_model_unless_configured():
    import json

    from appliance.config.recognition import RecognitionConfig

    manifest = json.loads((MODELS_DIR / "detector.manifest.json").read_text())
    rec = build_recognizer(RecognitionConfig(num_threads=1))
    assert rec.detector.threshold == pytest.approx(manifest["default_threshold"])
    rec = build_recognizer(RecognitionConfig(num_threads=1, min_detection_score=0.3))
    assert rec.detector.threshold == pytest.approx(0.3)
