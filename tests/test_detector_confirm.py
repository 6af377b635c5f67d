"""The detector's two-tier confirmation: low-scoring detections are kept only when they read as
a plate (inference.detector.Confirmation, chosen by inference.training.detector_confirm)."""

import json

import numpy as np
import pytest

from inference.detector import Confirmation, Detector
from inference.ocr import PlateReader
from inference.pipeline import PlateRecognizer
from inference.rectify import box_of
from inference.runtime import MODELS_DIR
from inference.tracker import Tracker
from inference.training import detector_confirm
from inference.training.ocr_effects import background
from inference.training.render import render_plate
from inference.training.synthetic import compose_frame
from inference.types import Detection
from tests.test_detector_coarse import _copy_models, assert_refused_and_swap_keeps_current


def test_a_detector_carries_its_confirmation_unless_a_threshold_is_given(tmp_path):
    block = {"propose": 0.35, "confirm": 0.6, "min_chars": 4}
    path = _copy_models(tmp_path, lambda m: m.update(confirmation=block))
    det = Detector(path)
    assert det.confirmation == Confirmation(0.35, 0.6, 4, 0)
    assert Detector(path, threshold=0.3).confirmation is None  # the caller chose one point


def test_the_shipped_detector_decides_low_scores_with_its_verifier_not_the_ocr():
    m = json.loads((MODELS_DIR / "detector.manifest.json").read_text())
    det = Detector()
    assert "confirmation" not in m and det.confirmation is None
    assert det.verifier is not None and det.threshold == m["default_threshold"]
    assert det.threshold < det.verifier.settings.vets_below


def test_keeps_high_scores_and_plate_length_reads_only():
    rule = Confirmation(0.35, 0.5, 4)
    assert rule.keeps(0.5, None) and rule.keeps(0.9, "")
    assert rule.keeps(0.36, "B121NCA") and rule.keeps(0.36, "AB12")
    assert not rule.keeps(0.36, "EE7") and not rule.keeps(0.36, None)


def test_a_confirmation_may_also_ask_how_sure_the_reading_is():
    rule = Confirmation(0.35, 0.5, 4, min_confidence=0.05)
    assert rule.keeps(0.36, "B121NCA", 0.05) and not rule.keeps(0.36, "B121NCA", 0.049)
    assert rule.keeps(0.5, None, 0.0)  # at or over `confirm` nothing is asked


def test_a_manifest_confirmation_reads_min_confidence_when_present(tmp_path):
    block = {"propose": 0.35, "confirm": 0.5, "min_chars": 4, "min_confidence": 0.02}
    det = Detector(_copy_models(tmp_path, lambda m: m.update(confirmation=block)))
    assert det.confirmation == Confirmation(0.35, 0.5, 4, 0.02)


@pytest.mark.parametrize("block", [
    {"propose": 0.35, "confirm": 0.5},  # min_chars missing
    {"propose": "low", "confirm": 0.5, "min_chars": 4},
    {"propose": 0.6, "confirm": 0.5, "min_chars": 4},  # propose above confirm
    {"propose": 0.35, "confirm": 0.5, "min_chars": 0},
    {"propose": 0.0, "confirm": 0.5, "min_chars": 4},
    {"propose": 0.35, "confirm": 0.5, "min_chars": 4, "min_confidence": 1.0},
    {"propose": 0.35, "confirm": 0.5, "min_chars": 4, "min_confidence": "sure"},
    [0.35, 0.5, 4],  # not a mapping
])
def test_a_bad_confirmation_block_is_refused_and_a_swap_keeps_the_current_model(tmp_path, block):
    assert_refused_and_swap_keeps_current(
        _copy_models(tmp_path, lambda m: m.update(confirmation=block)), "confirmation",
        "confirmation")


def test_a_manifest_without_confirmation_runs_one_threshold(tmp_path):
    det = Detector(_copy_models(tmp_path, lambda m: m.pop("confirmation", None)))
    assert det.confirmation is None


def test_detect_takes_a_lower_threshold_for_proposals():
    image, _ = compose_frame([(330, 420, 120), (900, 400, 90)], seed=7)
    det = Detector()
    at_operating_point, proposed = det.detect(image), det.detect(image, threshold=0.2)
    assert len(proposed) >= len(at_operating_point) >= 1
    assert min(d.score for d in proposed) >= 0.2
    assert min(d.score for d in at_operating_point) >= det.threshold


class ScoredDetector:
    """The detector's contract with a confirmation: fixed detections, filtered by threshold."""

    def __init__(self, detections, confirmation):
        self.detections, self.confirmation = detections, confirmation
        self.asked: list[float | None] = []

    def detect(self, image, threshold=None):
        self.asked.append(threshold)
        return [d for d in self.detections if d.score >= (threshold or 0.5)]


def test_pipeline_keeps_a_low_scoring_plate_that_reads_and_drops_clutter():
    frame = background(720, 1280, np.random.default_rng(3), ir=False)
    plate = render_plate(np.random.default_rng(5), text="6TRJ244", region="US-CA", width=160,
                         camera=False)
    h, w = plate.image.shape[:2]
    frame[400:400 + h, 300:300 + w] = plate.image
    corners = (plate.corners + [300, 400]).astype(np.float32)
    blank = np.float32([[900, 100], [1060, 100], [1060, 140], [900, 140]])
    frame[90:150, 890:1070] = 128  # a flat grey patch: nothing to read
    dets = [Detection(box_of(corners), 0.4, corners),    # low score, reads as a plate: kept
            Detection(box_of(blank), 0.42, blank),        # low score, reads nothing: dropped
            Detection(box_of(blank + [0, 300]), 0.3, blank + [0, 300])]  # under propose
    detector = ScoredDetector(dets, Confirmation(0.35, 0.5, 4))
    rec = PlateRecognizer(detector, PlateReader(), Tracker(region="us"), region="us")
    found = rec.find(frame)
    assert detector.asked == [0.35]
    assert [(d.score, r.text if r else None) for d, r in found] == [(0.4, "6TRJ244")]
    assert [r.text for r in rec.read_image(frame)] == ["6TRJ244"]
    detector.detections = [Detection(box_of(blank), 0.9, blank)]  # high score: kept unread
    assert [(d.score, r) for d, r in rec.find(frame)] == [(0.9, None)]
    detector.detections = dets[:1]
    detector.confirmation = Confirmation(0.35, 0.5, 4, min_confidence=0.95)  # int8 tops at ~0.87
    assert rec.find(frame) == []


def test_sweep_counts_each_rule_and_choose_prefers_the_stricter_on_a_tie():
    plate, clutter = (10, 10, 40, 10), (200, 10, 40, 10)
    gt = np.float32([plate])
    found = [(gt, [(plate, 0.4, "AB123", 0.5), (clutter, 0.4, "E1", 0.5)], []),
             (gt, [(plate, 0.6, "CD456", 0.5), (clutter, 0.55, None, 0.0)], [])]
    rows = {(r["propose"], r["confirm"], r["min_chars"]): r
            for r in detector_confirm.sweep(found, [(0.45, 0.45, 4, 0), (0.35, 0.5, 4, 0),
                                                    (0.35, 0.6, 4, 0), (0.35, 0.6, 3, 0)])}
    assert rows[0.45, 0.45, 4]["recall"] == 0.5 and rows[0.45, 0.45, 4]["fp_per_image"] == 0.5
    assert rows[0.35, 0.5, 4]["recall"] == 1.0 and rows[0.35, 0.5, 4]["fp_per_image"] == 0.5
    assert rows[0.35, 0.6, 4]["recall"] == 1.0 and rows[0.35, 0.6, 4]["fp_per_image"] == 0.0
    assert rows[0.35, 0.6, 3]["f2"] == rows[0.35, 0.6, 4]["f2"]
    assert detector_confirm.choose(list(rows.values())) == {"propose": 0.35, "confirm": 0.6,
                                                            "min_chars": 4, "min_confidence": 0}


def test_sweep_weighs_the_reading_confidence_and_ignores_extra_plates():
    plate, sign, extra = (10, 10, 40, 10), (200, 10, 40, 10), (400, 10, 40, 10)
    gt = np.float32([plate])
    found = [(gt, [(plate, 0.4, "AB123", 0.3), (sign, 0.4, "SALE24", 0.01),
                   (extra, 0.4, "XY987", 0.2)], [extra])]  # a plate the labels leave out
    rows = {r["min_confidence"]: r
            for r in detector_confirm.sweep(found, [(0.35, 0.5, 4, 0.0), (0.35, 0.5, 4, 0.1),
                                                    (0.35, 0.5, 4, 0.5)])}
    assert rows[0.0]["recall"] == 1.0 and rows[0.0]["fp_per_image"] == 1.0  # the sign only
    assert rows[0.1]["recall"] == 1.0 and rows[0.1]["fp_per_image"] == 0.0
    assert rows[0.5]["recall"] == 0.0 and rows[0.5]["fp_per_image"] == 0.0
    assert detector_confirm.choose(list(rows.values()))["min_confidence"] == 0.1
