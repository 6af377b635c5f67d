"""The capture loop: backpressure, nothing lost on stop, gating, camera loss, illuminator."""

from __future__ import annotations

import time

import numpy as np

from appliance.capture import CaptureLoop
from appliance.capture.motion import MotionGate
from appliance.config.capture import CaptureConfig
from appliance.sources import Faults, ReconnectingSource
from appliance.sources.folder import FolderSource
from appliance.sources.synthetic import SyntheticSource
from inference.recognizer import NullRecognizer
from tests.capture_fakes import (
    BlockingRecognizer,
    FakeIlluminator,
    ListSink,
    TrackingRecognizer,
)
from tests.test_sources_contract import make_folder


def synth(faults=None, night=False):
    src = SyntheticSource(320, 180, 30, pace=False, faults=faults, night=night)
    src.open()
    return src


def cfg(**kw):
    return CaptureConfig(**{"motion_gate": False, **kw})


def run_to_end(loop, timeout=20):
    loop.start()
    assert loop.finished.wait(timeout), "capture did not finish"
    loop.stop()
    return loop.health()


def accounted(h):
    return h["frames_gated"] + h["frames_dropped"] + h["frames_processed"] == h["frames_in"]


def test_camera_never_waits_for_a_stuck_recognizer():
    rec = BlockingRecognizer()
    loop = CaptureLoop(synth(), rec, ListSink(), cfg(queue_size=2), max_frames=100)
    loop.start()
    # All 100 frames are captured while recognition has not finished a single frame.
    assert loop.finished.wait(20)
    assert rec.processed == 0 and loop.frames_in == 100
    rec.release.set()
    loop.stop()
    h = loop.health()
    assert h["frames_processed"] <= 3 and h["frames_dropped"] >= 97  # 1 in flight + 2 queued
    assert accounted(h)


def test_slow_recognizer_drops_are_counted_and_capture_count_is_unchanged():
    fast = run_to_end(CaptureLoop(synth(), NullRecognizer(), ListSink(), cfg(), max_frames=120))
    slow = run_to_end(CaptureLoop(synth(), TrackingRecognizer(delay_s=0.02), ListSink(),
                                  cfg(queue_size=2), max_frames=120))
    assert fast["frames_in"] == slow["frames_in"] == 120
    assert slow["frames_dropped"] > 0 and slow["frames_processed"] < 120
    assert accounted(fast) and accounted(slow)


def test_stop_finishes_queued_frames_and_flushes_every_read_to_the_sink():
    rec, sink = TrackingRecognizer(every=7, delay_s=0.005), ListSink()
    loop = CaptureLoop(synth(), rec, sink, cfg(queue_size=8))
    loop.start()
    while rec.frames < 30:
        time.sleep(0.01)
    loop.stop()
    h = loop.health()
    assert h["queue_depth"] == 0 and not h["running"]
    assert [r.read_id for r in sink.reads] == [r.read_id for r in rec.created]
    assert h["reads"] == len(rec.created) and h["reads_undelivered"] == 0
    assert accounted(h)


def test_flush_read_reaches_the_sink():
    rec, sink = TrackingRecognizer(every=1000), ListSink()
    h = run_to_end(CaptureLoop(synth(), rec, sink, cfg(), max_frames=10))
    assert len(rec.flushed) == 1 and sink.reads == rec.flushed and h["reads"] == 1


def test_failing_sink_keeps_reads_for_retry():
    rec, sink = TrackingRecognizer(every=3), ListSink(fail_first=2)
    h = run_to_end(CaptureLoop(synth(), rec, sink, cfg(queue_size=64), max_frames=30))
    assert h["sink_errors"] == 2 and h["reads_undelivered"] == 0
    assert [r.read_id for r in sink.reads] == [r.read_id for r in rec.created]


def test_recognizer_exception_is_counted_not_fatal():
    class Broken(NullRecognizer):
        def process(self, *a):
            raise ValueError("model exploded")

    h = run_to_end(CaptureLoop(synth(), Broken(), ListSink(), cfg(queue_size=64), max_frames=20))
    assert h["recognizer_errors"] == h["frames_processed"] == 20 and h["error"] is None


def test_motion_gate_skips_a_static_scene_and_a_burst_bypasses_it(tmp_path):
    still = make_folder(tmp_path / "still", n=1)
    gated = CaptureLoop(FolderSource(still, pace=False), NullRecognizer(), ListSink(),
                        CaptureConfig(motion_gate=True, forced_check_s=60), max_frames=50)
    gated.source.open()
    h = run_to_end(gated)
    assert h["gate"]["motion"] == 1 and h["frames_gated"] == 49  # only the first frame

    burst = CaptureLoop(FolderSource(still, pace=False), NullRecognizer(), ListSink(),
                        CaptureConfig(motion_gate=True, forced_check_s=60, queue_size=64),
                        max_frames=50)
    burst.source.open()
    burst.start_burst(60)
    h = run_to_end(burst)
    assert h["gate"]["burst"] == 50 and h["frames_gated"] == 0 and h["frames_processed"] == 50


def test_motion_gate_decisions():
    gate = MotionGate(threshold=0.01, forced_check_s=2.0)
    still = np.full((90, 160), 100, np.uint8)
    moved = still.copy()
    moved[20:60, 40:100] = 200
    assert gate.decide(still, 0.0) == "motion"  # first frame
    assert gate.decide(still, 0.5) is None
    assert gate.decide(moved, 1.0) == "motion"
    assert gate.decide(moved, 1.5) is None
    assert gate.decide(moved, 3.1) == "forced"  # periodic check without motion
    noisy = np.clip(still.astype(int) + np.random.default_rng(0).integers(-8, 9, still.shape),
                    0, 255).astype(np.uint8)
    assert gate.decide(still, 3.2) == "motion"  # the vehicle left
    assert gate.decide(noisy, 3.3) is None  # sensor noise is not motion
    gate.start_burst(1.0, 3.4)
    assert gate.decide(noisy, 3.5) == "burst" and gate.decide(noisy, 4.5) is None
    assert gate.counts == {"motion": 3, "forced": 1, "burst": 1, "always": 0, "gated": 4}


def test_camera_loss_reconnects_and_shows_in_health():
    inner = synth(Faults(fail_after=10, reopen_failures=2))
    src = ReconnectingSource(inner, initial_s=0.01, max_s=0.05)
    h = run_to_end(CaptureLoop(src, NullRecognizer(), ListSink(), cfg(queue_size=64),
                               max_frames=30))
    assert h["frames_in"] == 30 and h["error"] is None
    cam = h["camera"]
    assert cam["losses"] == 1 and cam["reconnects"] == 1 and cam["failed_attempts"] == 2
    assert cam["connected"] is True


def test_source_gaps_are_counted():
    h = run_to_end(CaptureLoop(synth(Faults(drop_every=4)), NullRecognizer(), ListSink(), cfg(),
                               max_frames=12))
    assert h["source_gaps"] == 3


class RecordingSource(SyntheticSource):
    """Keeps every frame it hands out, to see what the loop wrote on them."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.frames = []

    def _read(self):
        frame = super()._read()
        self.frames.append(frame)
        return frame


def test_illuminator_switch_flushes_the_source_and_marks_frames():
    src, ill = RecordingSource(320, 180, 30, pace=False, night=True), FakeIlluminator(on_below=100)
    src.open()
    loop = CaptureLoop(src, NullRecognizer(), ListSink(), cfg(queue_size=64), illuminator=ill,
                       cpu_temp=lambda: 55.0, max_frames=10, illuminator_period_s=0)
    run_to_end(loop)
    assert len(ill.calls) == 10 and ill.calls[0][2] == 55.0
    assert ill.calls[0][0] < 60  # night scene: dark
    assert src.ir_notifications == 1  # switched on once: the next frame is flushed
    assert len(src.frames) == 10 and all(f.ir_on for f in src.frames)


def test_health_has_the_documented_fields():
    h = run_to_end(CaptureLoop(synth(), NullRecognizer(), ListSink(), cfg(), max_frames=5))
    for key in ("frames_in", "frames_gated", "frames_dropped", "frames_processed", "reads",
                "fps_in", "fps_out", "queue_depth", "latency_ms", "stages", "gate", "camera",
                "stalled", "last_frame_age_s", "end_reason"):
        assert key in h
    assert set(h["latency_ms"]) == {"p50", "p95", "max", "n"}
    assert h["end_reason"].startswith("max_frames")
