"""Audit of issue 4's tracker: a track that has timed out is closed before the next frame's
plates are associated, so a vehicle arriving after a quiet spell (the motion gate passes no
frame while nothing moves) is never merged into the read of the vehicle before it."""

import numpy as np

from inference.tracker import Observation, Tracker
from inference.types import Candidate


def obs(text, t, x=100.0, w=100.0, conf=0.9):
    cc = tuple([conf] * len(text))
    return Observation(box=(x, 300.0, w, w / 2), wall=1_700_000_000 + t, mono=1000 + t,
                       candidates=(Candidate(text, float(np.prod(cc))),), char_conf=cc)


def test_expired_track_does_not_absorb_the_next_vehicle():
    tr = Tracker(timeout_s=1.0, repeat_window_s=0.0)
    assert tr.update([obs("AAA111", 0.0)], 1000.0) == []
    # no frame for 1.5 s (gated), then another car's plate where the last one was seen
    reads = tr.update([obs("BBB222", 1.5, x=105)], 1001.5)
    assert [r.plate for r in reads] == ["AAA111"]
    assert reads[0].frames_used == 1 and reads[0].last_seen_mono == 1000.0
    assert tr.open_tracks == 1
    (second,) = tr.flush()
    assert second.plate == "BBB222" and second.frames_used == 1
    assert second.first_seen_mono == 1001.5


def test_track_within_timeout_still_continues():
    tr = Tracker(timeout_s=1.0)
    tr.update([obs("AAA111", 0.0)], 1000.0)
    assert tr.update([obs("AAA111", 0.9, x=110)], 1000.9) == []
    (read,) = tr.flush()
    assert read.frames_used == 2
