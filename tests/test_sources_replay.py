"""Folder replay and OpenCV video files (a video the test writes with cv2.VideoWriter)."""

from __future__ import annotations

import cv2
import pytest

from appliance.config.camera import CameraConfig
from appliance.sources import EndOfStream, SourceError, build_source
from appliance.sources.base import Pacer
from appliance.sources.folder import FolderSource
from appliance.sources.opencv import OpenCVSource, classify
from tests.test_sources_contract import make_folder, make_video


def test_folder_plays_in_name_order_and_loops(tmp_path):
    src = FolderSource(make_folder(tmp_path / "f", n=3), pace=False)
    with src:
        names = [src.read().metadata["file"] for _ in range(5)]
    assert names == ["img_000.png", "img_001.png", "img_002.png", "img_000.png", "img_001.png"]


def test_folder_once_ends(tmp_path):
    src = FolderSource(make_folder(tmp_path / "f", n=2), loop=False, pace=False)
    with src:
        src.read()
        src.read()
        with pytest.raises(EndOfStream):
            src.read()


def test_folder_skips_corrupt_images_and_says_so(tmp_path, caplog):
    folder = make_folder(tmp_path / "f", n=2)
    (folder / "img_000b.jpg").write_bytes(b"not a jpeg")
    src = FolderSource(folder, loop=False, pace=False)
    with src:
        assert [src.read().metadata["file"] for _ in range(2)] == ["img_000.png", "img_001.png"]
    assert src.skipped == ["img_000b.jpg"] and "img_000b.jpg" in caplog.text


@pytest.mark.parametrize("setup", ["missing", "empty", "all-corrupt"])
def test_folder_errors_are_clear(tmp_path, setup):
    path = tmp_path / "f"
    if setup != "missing":
        path.mkdir()
    if setup == "all-corrupt":
        (path / "a.png").write_bytes(b"\x89PNG broken")
    src = FolderSource(path, pace=False)
    with pytest.raises(SourceError, match=str(path)):
        src.open()
        src.read()


def test_opencv_reads_a_generated_video_in_order(tmp_path):
    src = OpenCVSource(str(make_video(tmp_path / "v.avi", frames=6)), loop=False)
    with src:
        greens = [int(round(src.read().image[..., 1].mean() / 20)) for _ in range(6)]
        with pytest.raises(EndOfStream):
            src.read()
    assert greens == [0, 1, 2, 3, 4, 5]


def test_opencv_video_loops(tmp_path):
    src = OpenCVSource(str(make_video(tmp_path / "v.avi", frames=4)), loop=True, pace=False)
    with src:
        frames = [src.read() for _ in range(10)]
    assert [f.seq for f in frames] == list(range(1, 11))


def test_opencv_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="no such video file"):
        OpenCVSource(str(tmp_path / "nope.mp4")).open()


def test_opencv_classify():
    assert classify("0") == ("v4l2", 0)
    assert classify("/dev/video2") == ("v4l2", "/dev/video2")
    assert classify("rtsp://u:p@cam/stream")[0] == "stream"
    assert classify("clip.mp4") == ("file", "clip.mp4")
    with pytest.raises(SourceError, match="camera.device"):
        classify(" ")


def test_stream_urls_are_not_logged_with_credentials():
    src = OpenCVSource("rtsp://admin:secret@10.0.0.9/s")
    assert "secret" not in src._label()


def test_factory_builds_folder_and_opencv(tmp_path):
    folder = make_folder(tmp_path / "f")
    assert build_source(CameraConfig(source="folder", device=str(folder))).name == "folder"
    video = make_video(tmp_path / "v.avi")
    assert build_source(CameraConfig(source="opencv", device=str(video))).name == "opencv"
    with pytest.raises(SourceError, match="camera.device"):
        build_source(CameraConfig(source="folder"))


def test_pacer_waits_out_the_frame_period_without_banking_time():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(round(s, 6))
        now[0] += s

    pacer = Pacer(10, clock=lambda: now[0], sleep=sleep)
    pacer.wait()  # first frame: immediate
    now[0] += 0.03
    pacer.wait()  # 30 ms in: wait 70 ms
    now[0] += 0.5  # late frame: no catch-up burst afterwards
    pacer.wait()
    pacer.wait()
    assert slept == [0.07, 0.1]


def test_image_written_by_cv2_roundtrips(tmp_path):
    # guards the fixtures above: OpenCV here can write and read PNG
    make_folder(tmp_path / "f", n=1)
    assert cv2.imread(str(tmp_path / "f" / "img_000.png")) is not None
