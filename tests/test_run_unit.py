"""The composition root in-process: GPIO on gpiozero's MockFactory, injected fakes, safe mode."""

from __future__ import annotations

import threading
import time

import pytest
from gpiozero import LED as GzLED

from appliance.config import AlprConfig
from appliance.config.camera import CameraConfig
from appliance.config.capture import CaptureConfig
from appliance.config.gpio import GpioConfig
from appliance.sources.synthetic import SyntheticSource
from appliance.unit import Unit, UnitParts
from inference.recognizer import NullRecognizer
from tests.capture_fakes import ListSink, TrackingRecognizer

ILLUM, TRIG, TAMP, LED = 18, 17, 27, 22


def config(**capture):
    return AlprConfig(
        camera=CameraConfig(source="synthetic", width=320, height=240, fps=30,
                            synthetic_night=True),
        capture=CaptureConfig(**{"motion_gate": False, "queue_size": 64, **capture}),
        gpio=GpioConfig(trigger_pin=TRIG, tamper_pin=TAMP, led_pin=LED, ir_min_dwell_s=0))


def test_unit_drives_gpio_and_captures(tmp_path, factory):
    events = []
    src = SyntheticSource(320, 180, 30, night=True, pace=False)
    rec, sink = TrackingRecognizer(every=4), ListSink()
    parts = UnitParts(source=src, recognizer=rec, sink=sink, pin_factory=factory,
                      event_sink=lambda kind, detail: events.append(kind))
    unit = Unit(config(), data_dir=tmp_path, parts=parts, max_frames=40)
    factory.pin(TAMP).drive_low()  # lid shut
    unit.start()
    try:
        assert unit.loop.finished.wait(20)
        factory.pin(TRIG).drive_low()  # vehicle on the loop detector
        assert unit.loop.gate.burst_active(time.monotonic())
        factory.pin(TAMP).drive_high()  # enclosure opened
        assert events == ["tamper"]
        unit.update_led()
        h = unit.health()
        assert h["status"] == "healthy" and unit.devices.led.status == "healthy"
        assert h["illuminator"]["on"] is True  # the night scene is dark: IR switched on
        assert src.ir_notifications == 1  # and the camera was told to flush
        assert factory.pin(ILLUM).state > 0
        assert h["gpio"]["trigger"] is not None and h["safe_mode"] is False
        assert h["capture"]["frames_in"] == 40
    finally:
        unit.stop()
    assert factory.pin(ILLUM).state == 0  # closed devices leave the light off
    assert [r.read_id for r in sink.reads] == [r.read_id for r in rec.created]


def test_safe_mode_keeps_capture_off_and_shows_the_reason(tmp_path, factory):
    unit = Unit(config(), data_dir=tmp_path, safe_reason="camera.fps = -1: bad",
                parts=UnitParts(pin_factory=factory), max_frames=10)
    unit.start()
    try:
        unit.wait(threading.Event(), poll_s=0.01)  # returns: bounded run in safe mode
        h = unit.health()
        assert h["safe_mode"] and h["state"] == "safe" and "camera.fps" in h["safe_reason"]
        assert h["capture"] is None and unit.devices.led.status == "safe"
    finally:
        unit.stop()


def test_bad_gpio_pin_is_safe_mode_naming_the_key(tmp_path, factory):
    cfg = config().model_copy(update={"gpio": GpioConfig(trigger_pin=TRIG, led_pin=LED)})
    blocker = GzLED(LED, pin_factory=factory)  # the LED pin is already claimed elsewhere
    try:
        unit = Unit(cfg, data_dir=tmp_path, parts=UnitParts(
            source=SyntheticSource(320, 180, 30, pace=False), recognizer=NullRecognizer(),
            pin_factory=factory), max_frames=5)
        unit.start()
        unit.stop()
        assert unit.safe_mode and "gpio.led_pin" in unit.safe_reason
    finally:
        blocker.close()


class ModelledRecognizer(NullRecognizer):
    """A recognizer that names its models, as inference.pipeline.PlateRecognizer does."""

    def models(self):
        return {"region": "eu", "ocr": {"files": ["ocr8_int8.tflite"], "version": "x"}}


@pytest.mark.parametrize(("recognizer", "models"), [
    (NullRecognizer, None),  # a recognizer without models names none
    (ModelledRecognizer, ModelledRecognizer().models()),
])
def test_health_reports_host_clock_and_models(tmp_path, factory, recognizer, models):
    unit = Unit(config(), data_dir=tmp_path, parts=UnitParts(
        source=SyntheticSource(320, 180, 30, pace=False), recognizer=recognizer(),
        pin_factory=factory), max_frames=5)
    unit.start()
    try:
        unit.loop.finished.wait(10)
        h = unit.health()
        assert h["disk"]["free_bytes"] > 0 and isinstance(h["clock_synchronised"], bool)
        assert "temperatures_c" in h and "watchdog" in h
        assert h["recognizer"] == recognizer.__name__ and h["models"] == models
    finally:
        unit.stop()
    assert unit.health()["state"] == "stopped"
