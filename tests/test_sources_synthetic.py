"""Synthetic scenes: deterministic, plates of known text, day and IR-night looks."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.config.camera import CameraConfig
from appliance.sources import build_source
from appliance.sources.synthetic import FONT_PATH, SyntheticSource, random_plate_text, render_plate


def frames(src, n):
    with src:
        return [src.read() for _ in range(n)]


def test_font_and_licence_are_shipped():
    assert FONT_PATH.is_file()
    assert "Bitstream" in (FONT_PATH.parent / "LICENSE-DejaVu.txt").read_text()


def test_render_plate_is_light_with_dark_text():
    plate = render_plate("7ABC123", 140)
    assert plate.shape == (70, 140, 3) and plate.dtype == np.uint8
    gray = plate.mean(axis=2)
    band = gray[int(70 * 0.4):int(70 * 0.75), 10:-10]  # where the characters are
    assert np.median(gray) > 180  # light background
    assert band.min() < 80  # dark strokes
    assert not np.array_equal(render_plate("7ABC123", 140), render_plate("7ABC124", 140))
    night = render_plate("7ABC123", 140, night=True)
    assert np.array_equal(night[..., 0], night[..., 1])


@pytest.mark.parametrize("bad", [("", 100), ("ABC", 4)])
def test_render_plate_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        render_plate(*bad)


def test_plate_texts_are_us_style():
    import random

    rng = random.Random(4)
    for _ in range(200):
        text = random_plate_text(rng)
        assert 5 <= len(text) <= 8 and text.isalnum() and text.isupper()


def test_same_seed_same_frames_other_seed_differs():
    a = frames(SyntheticSource(320, 180, 15, seed=7, pace=False), 30)
    b = frames(SyntheticSource(320, 180, 15, seed=7, pace=False), 30)
    c = frames(SyntheticSource(320, 180, 15, seed=8, pace=False), 30)
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x.image, y.image) for x, y in zip(a, c, strict=True))


def test_ground_truth_lists_plates_that_crossed_over_several_frames():
    src = SyntheticSource(1280, 720, 15, seed=3, pace=False)
    got = frames(src, 150)
    truth = src.ground_truth()
    assert len(truth) >= 3
    shown = {p["text"] for f in got for p in f.metadata["plates"]}
    assert shown == {t["text"] for t in truth}
    for t in truth[:-1]:  # the last one may still be crossing
        assert t["frames_visible"] >= 5  # a tracker sees it several times
    boxes = [p["box"] for f in got for p in f.metadata["plates"]]
    for x, y, w, h in boxes:
        assert x >= 0 and y >= 0 and x + w <= 1280 and y + h <= 720
        assert 60 <= w <= 200  # 70-160 px plates, a little wider when skewed


def test_plates_move_across_the_frame():
    src = SyntheticSource(1280, 720, 15, seed=3, pace=False)
    xs = [f.metadata["plates"][0]["box"][0] for f in frames(src, 40) if f.metadata["plates"]]
    assert len(xs) >= 5 and xs[0] != xs[-1]
    steps = np.diff(xs)
    assert (steps > 0).all() or (steps < 0).all()


def test_night_look_is_monochrome_and_dark():
    day = frames(SyntheticSource(320, 180, 15, seed=2, pace=False), 3)[-1]
    night = frames(SyntheticSource(320, 180, 15, seed=2, night=True, pace=False), 3)[-1]
    assert np.array_equal(night.image[..., 0], night.image[..., 2])
    assert night.image.mean() < day.image.mean() / 2
    assert night.lores.shape == (180, 320)


def test_pacing_follows_fps():
    import time

    src = SyntheticSource(160, 120, 50, pace=True)
    with src:
        src.read()
        t0 = time.monotonic()
        for _ in range(5):
            src.read()
        assert time.monotonic() - t0 >= 5 / 50 * 0.9  # never faster than the frame clock


def test_factory_auto_falls_back_to_synthetic_with_warning(caplog):
    src = build_source(CameraConfig(source="auto"), pace=False)
    assert src.name in ("synthetic", "picamera2")
    if src.name == "synthetic":
        assert "synthetic" in caplog.text and "picamera2" in caplog.text


def test_factory_explicit_picamera2_fails_loudly_when_absent():
    from appliance.sources import SourceUnavailable
    from appliance.sources.factory import picamera2_available

    if picamera2_available() is None:
        pytest.skip("picamera2 is present here")
    with pytest.raises(SourceUnavailable, match="python3-picamera2"):
        build_source(CameraConfig(source="picamera2"))
