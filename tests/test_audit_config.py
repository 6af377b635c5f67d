"""Audit of issues 3 and 4: every [recognition] setting reaches the part that uses it (threads
of every interpreter, tracker timeout, repeat window, top-N, minimum frames, region)."""

import cv2

from appliance.config.recognition import RecognitionConfig
from inference.pipeline import build_recognizer


def test_every_recognition_setting_is_used():
    cfg = RecognitionConfig(num_threads=3, repeat_window_s=7.5, track_timeout_s=0.4, top_n=3,
                            min_track_frames=2, region="eu", min_detection_score=0.55)
    before = cv2.getNumThreads()
    rec = build_recognizer(cfg)
    try:
        det, reader, tracker = rec.detector, rec.reader, rec.tracker
        models = [det.model] + ([det.coarse] if det.coarse is not None else []) + reader._models
        assert {m.num_threads for m in models} == {3}
        assert cv2.getNumThreads() == 3  # OpenCV's pool too, not every core
        assert det.threshold == 0.55 and det.confirmation is None
        assert (tracker.timeout_s, tracker.repeat_window_s, tracker.min_frames) == (0.4, 7.5, 2)
        assert tracker.top_n == reader.top_n == rec.top_n == 3
        assert tracker.region == rec.region == "eu"
    finally:
        rec.close()
        cv2.setNumThreads(before)
