"""The unit's live view and live camera/IR settings, with the capture loop running for real."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from appliance.capture.live import SettingsError
from appliance.config import AlprConfig
from appliance.config.camera import CameraConfig
from appliance.config.capture import CaptureConfig
from appliance.config.gpio import GpioConfig
from appliance.sources.picam import Picamera2Source
from appliance.sources.synthetic import SyntheticSource
from appliance.unit import Unit, UnitParts
from tests.capture_fakes import ListSink, TrackingRecognizer, wait_for
from tests.console_support import (
    client,
    open_store,
    start_console,
)
from tests.fakes_picamera2 import FakePicamera2

ILLUM = 18
W, H = 320, 240


def config() -> AlprConfig:
    return AlprConfig(
        camera=CameraConfig(source="synthetic", width=W, height=H, fps=20),
        capture=CaptureConfig(motion_gate=False, queue_size=8),
        gpio=GpioConfig(illuminator_mode="off", ir_min_dwell_s=0))


@pytest.fixture
def unit(tmp_path, factory):
    src = SyntheticSource(W, H, 20, pace=True)
    parts = UnitParts(source=src, recognizer=TrackingRecognizer(every=3), sink=ListSink(),
                      pin_factory=factory)
    unit = Unit(config(), data_dir=tmp_path, parts=parts)
    unit.start()
    yield unit
    unit.stop()


def test_live_frame_is_a_jpeg_of_the_frame_size(unit):
    frame = wait_for(unit.live_frame)
    image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (H, W, 3)
    assert abs(frame.wall_time - time.time()) < 5
    # Encoded on demand and rate-limited: asking again at once returns the same encoding.
    encodes = unit.loop.live.encodes
    assert unit.live_frame() is frame and unit.loop.live.encodes == encodes


def test_live_frame_carries_the_last_read_boxes(unit):
    frame = wait_for(lambda: (f := unit.loop.live.snapshot()) and f.detections and f, 15)
    box, text, score = frame.detections[0]
    assert len(box) == 4 and text and 0 <= score <= 1


def test_exposure_change_reaches_the_frames(unit):
    wait_for(lambda: unit.loop.live.frame)
    after = unit.camera_control.apply({"camera.exposure_us": 4000, "camera.analogue_gain": 2.5})
    assert after["camera.exposure_us"] == 4000 and after["camera.analogue_gain"] == 2.5
    frame = wait_for(lambda: (f := unit.loop.live.frame) and f.exposure_us == 4000 and f)
    assert frame.analogue_gain == 2.5
    assert unit.camera_control.get()["camera.exposure_us"] == 4000


@pytest.mark.parametrize("changes, key", [
    ({"camera.exposure_us": 10}, "camera.exposure_us"),
    ({"camera.analogue_gain": 99}, "camera.analogue_gain"),
    ({"gpio.illuminator_mode": "strobe"}, "gpio.illuminator_mode"),
    ({"camera.fps": 5}, "camera.fps"),  # not a live setting
])
def test_out_of_range_is_refused_naming_the_key(unit, changes, key):
    before = unit.camera_control.get()
    with pytest.raises(SettingsError, match=key.replace(".", r"\.")):
        unit.camera_control.apply({"camera.exposure_us": 2000, **changes})
    assert unit.camera_control.get() == before  # nothing half-applied
    assert unit.source.source.exposure_us == 1000


def test_range_named_in_the_error(unit):
    with pytest.raises(SettingsError, match=r"50\.\.100000"):
        unit.camera_control.apply({"camera.exposure_us": 10})


def test_illuminator_mode_reaches_the_pin(unit, factory):
    assert factory.pin(ILLUM).state == 0
    unit.camera_control.apply({"gpio.illuminator_mode": "on"})
    assert unit.devices.illuminator.mode == "on" and factory.pin(ILLUM).state > 0
    unit.camera_control.apply({"gpio.illuminator_max_duty": 0.5})
    assert 0 < factory.pin(ILLUM).state <= 0.5
    unit.camera_control.apply({"gpio.illuminator_mode": "off"})
    assert factory.pin(ILLUM).state == 0


def test_hysteresis_rule_is_checked(unit):
    with pytest.raises(SettingsError, match="gpio"):
        unit.camera_control.apply({"gpio.ir_on_below": 90, "gpio.ir_off_above": 80})


def test_picamera2_gets_the_controls_live():
    FakePicamera2.instances.clear()
    src = Picamera2Source(width=W, height=H, camera_factory=FakePicamera2)
    src.set_controls(exposure_us=3000)  # closed: recorded, applied at open
    src.open()
    try:
        cam = FakePicamera2.instances[-1]
        assert cam.controls["ExposureTime"] == 3000
        src.set_controls(analogue_gain=8.0)
        assert cam.controls["AnalogueGain"] == 8.0 and cam.controls["ExposureTime"] == 3000
        src.read()
        assert cam.flushes[-1] is not None  # the next frame is exposed under the new controls
    finally:
        src.close()


def test_safe_mode_has_no_live_frame(tmp_path, factory):
    unit = Unit(config(), data_dir=tmp_path, safe_reason="bad config",
                parts=UnitParts(pin_factory=factory))
    unit.start()
    try:
        assert unit.live_frame() is None
        assert unit.camera_control.apply({"camera.exposure_us": 2000})["camera.exposure_us"] == 2000
    finally:
        unit.stop()


async def test_console_serves_the_units_snapshot(tmp_path, unit):
    wait_for(unit.live_frame)
    store = open_store(tmp_path)
    console = await start_console(tmp_path, store, unit=unit)
    try:
        name = console.user("tech", "technician")
        headers, _ = console.session(name, ("maintenance", "aiming the camera", None))
        async with client() as http:
            async with http.get(console.url("/live/snapshot.jpg"), headers=headers) as resp:
                assert resp.status == 200 and resp.content_type == "image/jpeg"
                body = await resp.read()
        image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (H, W, 3)
    finally:
        await console.server.close()
        console.accounts.close()
        store.close()
