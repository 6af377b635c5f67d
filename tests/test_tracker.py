"""Tracker: association, confidence-weighted voting, direction, repeat suppression, flush."""

import numpy as np
import pytest

from inference.tracker import Observation, Tracker, direction, vote
from inference.types import Candidate


def obs(text, t, x=100.0, w=100.0, conf=0.9, y=300.0, confs=None, crop=None):
    cc = tuple(confs) if confs is not None else tuple([conf] * len(text))
    return Observation(
        box=(x, y, w, w / 2),
        wall=1_700_000_000 + t,
        mono=1000 + t,
        candidates=(Candidate(text, float(np.prod(cc))),),
        char_conf=cc,
        crop=crop,
    )


def drive(tracker, frames, dt=0.1):
    """frames: list of lists of observation factories f(t) -> Observation; returns reads."""
    reads = []
    for i, fs in enumerate(frames):
        t = i * dt
        reads += tracker.update([f(t) for f in fs], 1000 + t)
    return reads


def test_misread_frames_are_voted_right():
    # 7ABC123 read right in 5 frames; 2 frames misread one character with lower confidence.
    texts = ["7ABC123", "7A8C123", "7ABC123", "7ABC123", "7ABC1Z3", "7ABC123", "7ABC123"]
    tr = Tracker(timeout_s=0.5)
    reads = drive(
        tr, [[lambda t, s=s, i=i: obs(s, t, x=100 + 10 * i)] for i, s in enumerate(texts)]
    )
    assert reads == []
    reads = tr.flush()
    assert len(reads) == 1
    r = reads[0]
    assert r.plate == "7ABC123"
    assert r.frames_used == 7
    assert r.candidates[0].text == r.plate
    assert {"7A8C123", "7ABC1Z3"} <= {c.text for c in r.candidates}
    assert 0 < r.confidence < 1


def test_confidence_weighting_beats_majority():
    # Two confident frames say B, three unsure frames say 8: the confidence wins.
    o = [obs("AB1", 0, confs=(0.9, 0.95, 0.9)), obs("AB1", 0.1, confs=(0.9, 0.95, 0.9))]
    o += [obs("A81", 0.2 + 0.1 * i, confs=(0.9, 0.2, 0.9)) for i in range(3)]
    text, conf, per_char = vote(o)
    assert text == "AB1"
    assert per_char[1] < per_char[0]


def test_length_vote_prefers_weighted_length():
    o = [obs("7ABC123", 0), obs("7ABC123", 0.1), obs("7ABC12", 0.2, conf=0.5)]
    assert vote(o)[0] == "7ABC123"


def test_empty_vote():
    assert vote([]) == ("", 0.0, ())


def test_timeout_closes_track_and_reports_times():
    tr = Tracker(timeout_s=0.3)
    assert tr.update([obs("ABC123", 0.0)], 1000.0) == []
    assert tr.update([obs("ABC123", 0.1, x=110)], 1000.1) == []
    assert tr.open_tracks == 1
    reads = tr.update([], 1000.5)
    assert len(reads) == 1 and tr.open_tracks == 0
    r = reads[0]
    assert (r.first_seen_mono, r.last_seen_mono) == (1000.0, 1000.1)
    assert r.first_seen_wall == pytest.approx(1_700_000_000.0)
    assert r.last_seen_wall == pytest.approx(1_700_000_000.1)


def test_two_vehicles_are_two_tracks():
    tr = Tracker(timeout_s=0.5)
    frames = [
        [
            lambda t, i=i: obs("AAA111", t, x=100 + 5 * i),
            lambda t, i=i: obs("BBB222", t, x=900 - 5 * i),
        ]
        for i in range(5)
    ]
    drive(tr, frames)
    assert tr.open_tracks == 2
    plates = sorted(r.plate for r in tr.flush())
    assert plates == ["AAA111", "BBB222"]


def test_direction_from_motion():
    right = [obs("A1", 0, x=100), obs("A1", 0.1, x=200), obs("A1", 0.2, x=300)]
    left = [obs("A1", 0, x=300), obs("A1", 0.1, x=200), obs("A1", 0.2, x=100)]
    near = [obs("A1", 0, w=60), obs("A1", 0.1, w=80), obs("A1", 0.2, w=110)]
    far = [obs("A1", 0, w=110), obs("A1", 0.1, w=80), obs("A1", 0.2, w=60)]
    still = [obs("A1", 0), obs("A1", 0.1, x=102)]
    assert direction(right) == "right"
    assert direction(left) == "left"
    assert direction(near) == "approaching"
    assert direction(far) == "receding"
    assert direction(still) == "unknown"
    assert direction(right[:1]) == "unknown"


def test_read_carries_direction():
    tr = Tracker()
    drive(tr, [[lambda t, i=i: obs("XYZ789", t, x=100 + 40 * i)] for i in range(6)])
    (r,) = tr.flush()
    assert r.direction == "right"


def test_repeat_suppressed_within_window_and_not_after():
    tr = Tracker(timeout_s=0.2, repeat_window_s=10.0)
    assert len(tr.update([obs("ABC123", 0)], 1000.0) + tr.update([], 1001.0)) == 1
    # The same plate again 3 s later (stopped in traffic, track broke): suppressed.
    assert tr.update([obs("ABC123", 3.0)], 1003.0) + tr.update([], 1004.0) == []
    assert tr.suppressed == 1
    # A different plate is not suppressed.
    assert len(tr.update([obs("XYZ789", 4.5)], 1004.5) + tr.update([], 1005.5)) == 1
    # Long after the window (from the last sighting at 1003): emitted again.
    reads = tr.update([obs("ABC123", 20.0)], 1020.0) + tr.update([], 1021.0)
    assert [r.plate for r in reads] == ["ABC123"]


def test_zero_window_never_suppresses():
    tr = Tracker(timeout_s=0.2, repeat_window_s=0.0)
    n = 0
    for k in range(3):
        n += len(
            tr.update([obs("ABC123", 5.0 * k)], 1000 + 5.0 * k) + tr.update([], 1001 + 5.0 * k)
        )
    assert n == 3


def test_flush_closes_everything_and_best_crop_is_jpeg():
    tr = Tracker()
    crop = np.full((20, 40, 3), 200, np.uint8)
    tr.update([obs("ABC123", 0, crop=crop.copy()), obs("ZZZ999", 0, x=800, crop=crop.copy())], 1000)
    reads = tr.flush()
    assert len(reads) == 2 and tr.open_tracks == 0
    assert all(r.crop_jpeg and r.crop_jpeg[:2] == b"\xff\xd8" for r in reads)
    assert tr.flush() == []


def test_only_best_observation_keeps_images():
    tr = Tracker()
    crop = np.zeros((10, 20, 3), np.uint8)
    a = obs("ABC123", 0, conf=0.5, crop=crop)
    b = obs("ABC123", 0.1, conf=0.95, x=105, crop=crop)
    tr.update([a], 1000)
    tr.update([b], 1000.1)
    assert a.crop is None and b.crop is not None


def test_min_frames_drops_single_frame_tracks():
    tr = Tracker(min_frames=2)
    tr.update([obs("ABC123", 0)], 1000)
    assert tr.flush() == []


def test_clock_synced_is_and_of_frames():
    tr = Tracker()
    tr.update([obs("ABC123", 0)], 1000, clock_synced=True)
    tr.update([obs("ABC123", 0.1, x=105)], 1000.1, clock_synced=False)
    (r,) = tr.flush()
    assert r.clock_synced is False
