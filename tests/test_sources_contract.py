"""One contract suite over every frame source (skipping those not present here)."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from appliance.sources import Frame, FrameSource, SourceClosed
from appliance.sources.folder import FolderSource
from appliance.sources.opencv import OpenCVSource
from appliance.sources.picam import Picamera2Source, load_picamera2
from appliance.sources.synthetic import SyntheticSource
from tests.fakes_picamera2 import FakePicamera2


def make_video(path, frames=12, size=(160, 120), fps=10.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        img = np.zeros((size[1], size[0], 3), np.uint8)
        cv2.putText(img, str(i), (10, 80), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
        img[:, :, 1] = i * 20  # frame index recoverable from the green channel
        writer.write(img)
    writer.release()
    return path


def make_folder(path, n=5, size=(64, 48)):
    path.mkdir()
    for i in range(n):
        img = np.full((size[1], size[0], 3), i * 40, np.uint8)
        cv2.imwrite(str(path / f"img_{i:03d}.png"), img)
    return path


def _real_picamera2(tmp_path):
    try:
        load_picamera2()
    except ImportError as exc:
        pytest.skip(f"picamera2 not present: {exc}")
    return Picamera2Source(width=640, height=480, fps=15)


SOURCES = {
    "synthetic": lambda tmp: SyntheticSource(320, 240, 30, pace=False),
    "folder": lambda tmp: FolderSource(make_folder(tmp / "imgs"), 30, pace=False),
    "opencv-file": lambda tmp: OpenCVSource(str(make_video(tmp / "v.avi")), pace=False),
    "picamera2-fake": lambda tmp: Picamera2Source(width=320, height=240, lores=(160, 120),
                                                  camera_factory=FakePicamera2),
    "picamera2": _real_picamera2,
}


@pytest.fixture(params=sorted(SOURCES))
def source(request, tmp_path):
    src = SOURCES[request.param](tmp_path)
    yield src
    src.close()


def test_is_a_frame_source(source):
    assert isinstance(source, FrameSource)


def test_read_before_open_raises(source):
    with pytest.raises(SourceClosed):
        source.read()


def test_frames_carry_image_times_and_sequence(source):
    with source:
        frames = [source.read() for _ in range(4)]
    for f in frames:
        assert isinstance(f, Frame)
        assert f.image.dtype == np.uint8 and f.image.ndim == 3 and f.image.shape[2] == 3
        assert abs(f.wall_time - time.time()) < 60
        if f.lores is not None:
            assert f.lores.dtype == np.uint8 and f.lores.ndim == 2
    assert [f.seq for f in frames] == [1, 2, 3, 4]
    monos = [f.mono_time for f in frames]
    assert monos == sorted(monos)


def test_close_twice_is_safe_and_read_after_close_raises(source):
    source.open()
    source.read()
    source.close()
    source.close()
    with pytest.raises(SourceClosed):
        source.read()


def test_reopen_after_close(source):
    with source:
        source.read()
    with source:
        assert source.read().image.size > 0
    assert source.opens == 2 and source.closes == 2
