"""build_devices on gpiozero's MockFactory: trigger, tamper, LED patterns, closing, bad config."""

import importlib.util
import logging
import threading
import time

import pytest
from gpiozero import Button, Device, PWMOutputDevice
from gpiozero.pins.mock import MockFactory, MockPWMPin
from pydantic import ValidationError

from appliance.config.gpio import GpioConfig
from appliance.gpio import (
    PATTERNS,
    DeviceClosed,
    GpioConfigError,
    GpioUnavailable,
    build_devices,
)

ILLUM, TRIG, TAMP, LED = 18, 17, 27, 22
FULL = {"trigger_pin": TRIG, "tamper_pin": TAMP, "led_pin": LED}


@pytest.fixture
def factory():
    Device.pin_factory = MockFactory(pin_class=MockPWMPin)
    yield Device.pin_factory
    Device.pin_factory.reset()  # pins leak between tests otherwise
    Device.pin_factory = None


@pytest.fixture
def devices(factory):
    with build_devices(GpioConfig(**FULL)) as devs:
        yield devs


def states(factory, pin) -> list:
    return [s.state for s in factory.pin(pin).states]


def test_builds_every_configured_device(devices, factory):
    assert devices.available
    assert devices.illuminator.device.pin is factory.pin(ILLUM)
    assert devices.trigger.device.pin is factory.pin(TRIG)
    assert devices.tamper.device.pin is factory.pin(TAMP)
    assert devices.led.device.pin is factory.pin(LED)
    assert factory.pin(ILLUM).frequency == 1000
    state = devices.state()
    assert state["illuminator"]["mode"] == "auto" and state["trigger"]["count"] == 0


def test_unfitted_devices_are_none(factory):
    with build_devices(GpioConfig()) as devs:
        assert devs.illuminator is not None
        assert devs.trigger is None and devs.tamper is None and devs.led is None
        assert devs.on_trigger(lambda: None) is False
        assert devs.on_tamper(lambda: None) is False
        assert devs.state()["trigger"] is None


def test_explicit_pin_factory_is_used():
    factory = MockFactory(pin_class=MockPWMPin)
    try:
        assert Device.pin_factory is None
        with build_devices(GpioConfig(illuminator_mode="on"), pin_factory=factory) as devs:
            assert devs.illuminator.duty == 0.8
            assert factory.pin(ILLUM).state == 0.8
        assert factory.pin(ILLUM).state == 0.0
    finally:
        factory.reset()


def test_trigger_active_low_contact_calls_back_once_per_activation(devices, factory):
    fired = []
    assert devices.on_trigger(lambda: fired.append("a"))
    pin = factory.pin(TRIG)
    assert pin.state is True  # pull-up: contact open reads high
    pin.drive_low()
    pin.drive_high()
    pin.drive_low()
    assert fired == ["a", "a"] and devices.trigger.count == 2
    assert devices.trigger.is_active
    assert states(factory, TRIG) == [False, True, False, True, False]
    assert len(factory.pin(TRIG).states) == 5


def test_trigger_active_high_signal(factory):
    with build_devices(GpioConfig(trigger_pin=TRIG, trigger_active_low=False)) as devs:
        fired = []
        devs.on_trigger(lambda: fired.append(1))
        pin = factory.pin(TRIG)
        assert pin.state is False  # pull-down
        pin.drive_high()
        assert fired == [1]
        pin.drive_low()
        assert fired == [1]


def test_a_failing_callback_is_logged_and_others_still_run(devices, factory, caplog):
    fired = []

    def broken():
        raise RuntimeError("boom")

    devices.on_trigger(broken)
    devices.on_trigger(lambda: fired.append(1))
    with caplog.at_level(logging.ERROR, logger="appliance.gpio.inputs"):
        factory.pin(TRIG).drive_low()
    assert fired == [1]
    assert "trigger callback" in caplog.text and "boom" in caplog.text


def test_tamper_opening_is_reported(devices, factory):
    pin = factory.pin(TAMP)
    pin.drive_low()  # lid shut: switch closed to ground
    events = []
    assert devices.on_tamper(lambda: events.append("open"))
    assert events == [] and not devices.tamper.is_open
    pin.drive_high()  # lid opened (or wire cut: the pull-up wins)
    assert events == ["open"] and devices.tamper.is_open
    pin.drive_low()
    assert events == ["open"]
    pin.drive_high()
    assert events == ["open", "open"] and devices.tamper.openings == 2
    assert devices.state()["tamper"] == {"open": True, "openings": 2, "closed": False}


def test_tamper_open_at_registration_is_reported_at_once(devices, factory):
    assert factory.pin(TAMP).state is True  # nothing holds the switch closed
    events = []
    devices.on_tamper(lambda: events.append(1))
    assert events == [1]


def test_tamper_switch_to_3v3(factory):
    with build_devices(GpioConfig(tamper_pin=TAMP, tamper_open_high=False)) as devs:
        pin = factory.pin(TAMP)
        pin.drive_high()  # lid shut
        events = []
        devs.on_tamper(lambda: events.append(1))
        assert events == []
        pin.drive_low()
        assert events == [1]


def wait_for_states(pin, n: int, timeout: float = 10.0) -> list:
    deadline = time.monotonic() + timeout
    while len(pin.states) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    return [s.state for s in pin.states]


def test_led_patterns_are_distinct_and_blink_the_pin(devices, factory):
    assert len(set(PATTERNS.values())) == len(PATTERNS) == 3
    pin = factory.pin(LED)
    assert states(factory, LED) == [False]
    assert devices.led.set_status("safe")
    assert devices.led.pattern == PATTERNS["safe"]
    seen = wait_for_states(pin, 5)
    assert len(seen) >= 5
    assert seen[:5] == [False, True, False, True, False]  # on/off alternation from the thread
    assert not devices.led.set_status("safe")  # same status: the rhythm is not restarted
    assert devices.led.set_status("degraded") and devices.led.status == "degraded"
    with pytest.raises(ValueError, match="LED status must be one of"):
        devices.led.set_status("party")


def test_led_is_off_after_close(factory):
    devs = build_devices(GpioConfig(led_pin=LED, led_active_high=False))
    devs.led.set_status("healthy")
    wait_for_states(factory.pin(LED), 2)
    devs.close()
    pin = factory.pin(LED)
    assert pin.states[-2].state == 1  # switched off (active-low: high = dark) ...
    assert pin.function == "input"  # ... then released (high impedance: still dark)
    with pytest.raises(DeviceClosed):
        devs.led.set_status("safe")


def test_close_twice_and_use_after_close(factory):
    devs = build_devices(GpioConfig(illuminator_mode="on", **FULL))
    assert factory.pin(ILLUM).state == 0.8
    devs.close()
    devs.close()
    assert factory.pin(ILLUM).state == 0.0
    with pytest.raises(DeviceClosed):
        devs.on_trigger(lambda: None)
    with pytest.raises(DeviceClosed):
        devs.on_tamper(lambda: None)
    with pytest.raises(DeviceClosed):
        devs.illuminator.update(1.0, now=0, cpu_temp_c=None)
    with pytest.raises(DeviceClosed):
        devs.trigger.__enter__()
    state = devs.state()
    assert state["illuminator"]["closed"] and state["trigger"]["closed"]
    # the pins are free again: a new set of devices can claim them
    build_devices(GpioConfig(**FULL)).close()


def test_closed_trigger_no_longer_calls_back(factory):
    devs = build_devices(GpioConfig(**FULL))
    fired = []
    devs.on_trigger(lambda: fired.append(1))
    devs.close()
    factory.pin(TRIG).drive_low()
    assert fired == []


def test_pin_in_use_names_the_key_and_releases_what_was_built(factory):
    squatter = Button(TAMP)
    with pytest.raises(GpioConfigError, match="gpio.tamper_pin = 27"):
        build_devices(GpioConfig(**FULL))
    squatter.close()
    PWMOutputDevice(ILLUM).close()  # the illuminator built before the failure was released
    Button(TRIG).close()


@pytest.mark.parametrize("fields, message", [
    ({"trigger_pin": 18}, "pins must be distinct"),
    ({"ir_on_below": 80, "ir_off_above": 60}, "must be greater than ir_on_below"),
    ({"ir_off_above": 300}, "at most 255"),
    ({"derate_start_c": 80, "derate_stop_c": 75}, "derate_stop_c must be greater"),
    ({"led_pin": 40}, "less than or equal to 27"),
    ({"illuminator_mode": "strobe"}, "'off', 'on' or 'auto'"),
    ({"illuminator_max_duty": 1.5}, "less than or equal to 1"),
    ({"illuminator_pinn": 5}, "Extra inputs are not permitted"),
])
def test_bad_config_is_rejected(fields, message):
    with pytest.raises(ValidationError, match=message):
        GpioConfig(**fields)


def test_lux_input_allows_large_thresholds():
    cfg = GpioConfig(ir_auto_input="lux", ir_on_below=10, ir_off_above=400)
    assert cfg.ir_off_above == 400


def test_disabled_claims_no_pins(factory):
    devs = build_devices(GpioConfig(enabled=False, **FULL))
    assert devs.illuminator is None and not devs.available
    assert "disabled" in devs.state()["reason"]
    assert factory.pins == {}


no_real_gpio = pytest.mark.skipif(
    any(importlib.util.find_spec(m) for m in ("lgpio", "RPi", "pigpio")),
    reason="a real pin backend is installed here")


@no_real_gpio
def test_no_pin_factory_runs_without_gpio(monkeypatch, caplog):
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    assert Device.pin_factory is None
    with caplog.at_level(logging.WARNING, logger="appliance.gpio.devices"):
        devs = build_devices(GpioConfig(**FULL))
    assert devs.illuminator is None and devs.trigger is None and not devs.available
    assert "no GPIO pin factory" in caplog.text
    devs.close()


@no_real_gpio
def test_no_pin_factory_is_an_error_when_required(monkeypatch):
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    with pytest.raises(GpioUnavailable, match="gpio.required = true"):
        build_devices(GpioConfig(required=True))


def test_callbacks_from_another_thread(devices, factory):
    """gpiozero calls back on its own thread on a Pi; the callback must be thread-safe."""
    got = threading.Event()
    devices.on_trigger(got.set)
    t = threading.Thread(target=factory.pin(TRIG).drive_low)
    t.start()
    t.join(5)
    assert got.wait(5)


class BusyFactory(MockFactory):
    """A backend whose pin 27 is claimed by another process (lgpio raises its own error)."""

    def pin(self, name, pin_class=None, **kw):
        if name in (27, "GPIO27"):
            raise OSError("GPIO busy")
        return super().pin(name, pin_class, **kw)


def test_backend_errors_name_the_key_and_release_the_rest():
    factory = BusyFactory(pin_class=MockPWMPin)
    try:
        with pytest.raises(GpioConfigError, match=r"gpio.tamper_pin = 27: OSError: GPIO busy"):
            build_devices(GpioConfig(illuminator_mode="on", **FULL), pin_factory=factory)
        assert factory.pin(ILLUM).state == 0.0  # the illuminator built first was switched off
        assert factory.pin(ILLUM).function == "input"  # ... and released
    finally:
        factory.reset()
