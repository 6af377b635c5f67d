"""Fault knobs, camera loss and reconnect with backoff, and the picamera2 capture idiom."""

from __future__ import annotations

import threading

import pytest

from appliance.sources import (
    CameraDisconnected,
    CameraTimeout,
    Faults,
    ReconnectingSource,
    SourceClosed,
)
from appliance.sources.picam import Picamera2Source
from appliance.sources.synthetic import SyntheticSource
from tests.fakes_picamera2 import FakePicamera2


class RecordingStop(threading.Event):
    """A stop event whose waits return at once and are recorded (backoff without sleeping)."""

    def __init__(self):
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout=None):
        self.waits.append(timeout)
        return self.is_set()


def synth(**faults):
    return SyntheticSource(160, 120, 30, pace=False, faults=Faults(**faults))


def test_drop_every_leaves_sequence_gaps():
    src = synth(drop_every=3)
    with src:
        seqs = [src.read().seq for _ in range(6)]
    assert seqs == [1, 2, 4, 5, 7, 8]


@pytest.mark.parametrize("kind,exc",
                         [("timeout", CameraTimeout), ("disconnect", CameraDisconnected)])
def test_fail_after_raises_camera_loss(kind, exc):
    src = synth(fail_after=2, failure=kind)
    with src:
        src.read()
        src.read()
        with pytest.raises(exc):
            src.read()
    assert isinstance(exc("x"), TimeoutError | ConnectionError)


def test_reconnect_with_exponential_backoff_counts_everything():
    inner = synth(fail_after=3, reopen_failures=4)
    stop = RecordingStop()
    src = ReconnectingSource(inner, initial_s=0.5, max_s=3.0, stop=stop)
    src.open()
    seqs = [src.read().seq for _ in range(6)]
    assert seqs == [1, 2, 3, 4, 5, 6]  # the loss is invisible to the caller, except in health
    assert stop.waits == [0.5, 1.0, 2.0, 3.0, 3.0]  # doubling, capped at max_s
    state = src.state()
    assert state["losses"] == 1 and state["reconnects"] == 1 and state["failed_attempts"] == 4
    assert state["connected"] is True
    assert inner.opens == 2 and inner.closes >= 1


def test_stop_ends_a_reconnect_wait():
    inner = synth(fail_after=1, reopen_failures=100)
    stop = threading.Event()
    src = ReconnectingSource(inner, initial_s=30, max_s=60, stop=stop)
    src.open()
    src.read()
    threading.Timer(0.05, stop.set).start()
    with pytest.raises(SourceClosed):
        src.read()  # would wait 30 s without the stop


def test_camera_missing_at_open_is_retried_on_first_read():
    class FlakyOpen(SyntheticSource):
        attempts = 0

        def _open(self):
            FlakyOpen.attempts += 1
            if FlakyOpen.attempts < 3:
                raise CameraDisconnected("no camera yet")

    src = ReconnectingSource(FlakyOpen(160, 120, 30, pace=False), initial_s=0.01, max_s=0.02)
    src.open()
    assert src.connected is False and src.losses == 1
    assert src.read().image.size and src.connected and src.reconnects == 1


def test_stall_blocks_until_closed():
    src = synth(stall_after=1)
    src.open()
    src.read()
    threading.Timer(0.1, src.close).start()
    with pytest.raises(SourceClosed):
        src.read()


# -- picamera2 idiom, on a fake Picamera2 -------------------------------------------------------

def picam(**kw):
    FakePicamera2.instances.clear()
    return Picamera2Source(width=320, height=240, lores=(160, 120), exposure_us=800, fps=30,
                           camera_factory=lambda n: FakePicamera2(n, **kw))


def test_picamera2_configures_main_and_yuv420_lores_with_fixed_short_exposure():
    src = picam()
    with src:
        frame = src.read()
    cam = FakePicamera2.instances[-1]
    assert cam.config["main"] == {"size": (320, 240), "format": "RGB888"}
    assert cam.config["lores"] == {"size": (160, 120), "format": "YUV420"}
    assert cam.controls["AeEnable"] is False and cam.controls["ExposureTime"] == 800
    assert frame.image.shape == (240, 320, 3) and frame.image[0, 0, 0] == 200
    assert frame.lores.shape == (120, 160) and frame.lores.mean() == 90  # the Y plane only
    assert frame.exposure_us == 800 and frame.lux == 321.0
    assert cam.closed and not cam.started


def test_picamera2_flushes_after_ir_change_only():
    src = picam()
    with src:
        src.read()  # first frame after start: flushed
        src.read()
        src.notify_ir_change()
        f = src.read()
        src.read()
    flushes = FakePicamera2.instances[-1].flushes
    assert [x is not None for x in flushes] == [True, False, True, False]
    assert f.metadata["flushed"] is True


def test_picamera2_releases_every_request_even_on_error():
    src = picam(fail_array=True)
    with src:
        with pytest.raises(CameraDisconnected, match="buffer mapping failed"):
            src.read()
    cam = FakePicamera2.instances[-1]
    assert cam.requests and all(r.released for r in cam.requests)
    assert src.requests_taken == src.requests_released == 1


def test_picamera2_timeout_is_camera_loss():
    src = picam(hang=True)
    with src, pytest.raises(CameraTimeout):
        src.read()
