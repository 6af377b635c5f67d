"""IR illuminator on gpiozero's MockFactory: modes, hysteresis, dwell, duty cap, derating."""

import math

import pytest
from gpiozero import Device, PWMOutputDevice
from gpiozero.pins.mock import MockFactory, MockPWMPin
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.config.gpio import GpioConfig
from appliance.gpio import (
    DeviceClosed,
    Illuminator,
    derate_factor,
    read_cpu_temp_c,
    scene_brightness,
)

PIN = 18


@pytest.fixture
def factory():
    Device.pin_factory = MockFactory(pin_class=MockPWMPin)
    yield Device.pin_factory
    Device.pin_factory.reset()  # pins leak between tests otherwise
    Device.pin_factory = None


def make(factory, **kw) -> Illuminator:
    cfg = GpioConfig(**{"ir_min_dwell_s": 0.0, **kw})
    return Illuminator(PWMOutputDevice(PIN, frequency=cfg.illuminator_pwm_hz), cfg)


def values(factory) -> list[float]:
    return [float(s.state) for s in factory.pin(PIN).states]


def seen(ir: Illuminator, ambient: float, gain: float) -> float:
    """What the camera measures: ambient light plus what our IR adds (gain at full cap)."""
    return ambient + gain * ir.duty / 0.8


def test_auto_hysteresis_switches_only_outside_the_band(factory):
    ir = make(factory, ir_on_below=40, ir_off_above=70)
    assert not ir.is_on and ir.duty == 0.0
    ambient = [100, 50, 41, 39, 39, 50, 69, 70, 71, 60, 41]
    changes = [ir.update(seen(ir, a, gain=30), now=i, cpu_temp_c=50.0)
               for i, a in enumerate(ambient)]
    assert changes == [False, False, False, True, False, False, False, False, True, False, False]
    assert not ir.is_on
    assert values(factory) == [0.0, 0.8, 0.0]
    assert len(factory.pin(PIN).states) == 3
    assert ir.switches == 2


def test_dwell_holds_the_state_for_the_minimum_time(factory):
    ir = make(factory, ir_min_dwell_s=60)
    assert ir.update(10, now=1000.0, cpu_temp_c=None)  # first switch: no dwell to wait for
    assert not ir.update(10, now=1001.0, cpu_temp_c=None)  # IR adds nothing in this scene
    assert not ir.update(200, now=1030.0, cpu_temp_c=None)
    assert not ir.update(200, now=1059.9, cpu_temp_c=None)
    assert ir.update(200, now=1060.0, cpu_temp_c=None) and not ir.is_on
    assert not ir.update(5, now=1100.0, cpu_temp_c=None)
    assert ir.update(5, now=1120.0, cpu_temp_c=None) and ir.is_on
    assert values(factory) == [0.0, 0.8, 0.0, 0.8]
    assert ir.state()["last_switch"] == 1120.0


def test_strong_ir_does_not_switch_itself_off_at_night(factory):
    """IR lifts the scene far above ir_off_above; its own light must not count as daylight."""
    ir = make(factory, ir_min_dwell_s=60)
    changes = sum(ir.update(seen(ir, 20, gain=110), now=t, cpu_temp_c=50.0)
                  for t in range(0, 3600, 1))
    assert changes == 1 and ir.is_on
    state = ir.state()
    assert state["ir_boost"] == pytest.approx(110) and state["ambient_level"] == pytest.approx(20)
    assert values(factory) == [0.0, 0.8]


def test_dawn_and_dusk_switch_once_each(factory):
    ir = make(factory, ir_min_dwell_s=60)
    ramp = [20 + 130 * t / 3600 for t in range(3600)]  # an hour of dawn: 20 -> 150
    ramp += ramp[::-1]  # and dusk
    switch_times = [t for t, a in enumerate(ramp)
                    if ir.update(seen(ir, a, gain=110), now=t, cpu_temp_c=50.0)]
    assert len(switch_times) == 3  # on at the start, off at dawn, on at dusk
    dawn, dusk = switch_times[1], switch_times[2]
    assert ramp[dawn] > 70 and ramp[dawn - 1] <= 70 + 0.1
    assert ramp[dusk] < 40 and ramp[dusk - 1] >= 40 - 0.1


def test_derating_dims_the_ir_without_fooling_auto(factory):
    ir = make(factory, ir_min_dwell_s=0)
    assert ir.update(seen(ir, 20, gain=110), now=0, cpu_temp_c=50.0)
    assert not ir.update(seen(ir, 20, gain=110), now=1, cpu_temp_c=50.0)  # learns the boost
    for t, temp in enumerate([77.5, 84.0, 86.0, 60.0], start=2):
        assert not ir.update(seen(ir, 20, gain=110), now=t, cpu_temp_c=temp)
        assert ir.is_on and ir.state()["ambient_level"] == pytest.approx(20, abs=0.5)


def test_manual_on_has_no_baseline(factory):
    ir = make(factory, illuminator_mode="on")
    ir.update(150, now=0, cpu_temp_c=None)
    assert ir.state()["ir_boost"] is None and ir.state()["ambient_level"] == 150


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 30), st.floats(0, 255), st.floats(20, 100)),
                min_size=1, max_size=60))
def test_never_flaps_and_never_exceeds_the_cap(steps):
    factory = MockFactory(pin_class=MockPWMPin)
    try:
        cfg = GpioConfig(ir_min_dwell_s=45, illuminator_max_duty=0.63)
        ir = Illuminator(PWMOutputDevice(PIN, pin_factory=factory), cfg)
        now, switch_times = 0.0, []
        for dt, level, temp in steps:
            now += dt
            if ir.update(level, now=now, cpu_temp_c=temp):
                switch_times.append(now)
            assert 0.0 <= ir.duty <= 0.63
            assert ir.duty == 0.0 or ir.is_on
        gaps = [b - a for a, b in zip(switch_times, switch_times[1:], strict=False)]
        assert all(g >= 45 for g in gaps)
        assert len(factory.pin(PIN).states) <= 2 * len(steps) + 1
        ir.close()
    finally:
        factory.reset()


def test_duty_cap_in_on_mode(factory):
    ir = make(factory, illuminator_mode="on", illuminator_max_duty=0.35)
    assert ir.is_on and ir.duty == pytest.approx(0.35)
    assert not ir.update(0, now=1, cpu_temp_c=20.0)
    assert values(factory) == [0.0, 0.35]


def test_duty_rounds_down_never_above_the_cap(factory):
    ir = make(factory, illuminator_mode="on", illuminator_max_duty=0.805)
    assert ir.duty <= 0.805 and ir.duty == pytest.approx(0.80)


def test_thermal_derating_is_linear_and_recovers(factory):
    ir = make(factory, illuminator_mode="on", illuminator_max_duty=0.8,
              derate_start_c=70, derate_stop_c=85)
    duties = []
    for t, temp in enumerate([60.0, 70.0, 77.5, 85.0, 95.0, 81.25, 60.0]):
        assert not ir.update(None, now=t, cpu_temp_c=temp)  # derating never counts as a switch
        duties.append(ir.duty)
    assert duties == pytest.approx([0.8, 0.8, 0.4, 0.0, 0.0, 0.2, 0.8])
    assert ir.is_on
    assert values(factory) == pytest.approx([0.0, 0.8, 0.4, 0.0, 0.2, 0.8])
    assert len(factory.pin(PIN).states) == 6


def test_thermal_cutoff_visible_in_state(factory):
    ir = make(factory, illuminator_mode="on")
    ir.update(None, now=0, cpu_temp_c=90.0)
    state = ir.state()
    assert state["thermal_cutoff"] and state["on"] and state["duty"] == 0.0
    assert state["cpu_temp_c"] == 90.0


def test_derate_factor():
    assert derate_factor(None, 70, 85) == 1.0
    assert derate_factor(70, 70, 85) == 1.0
    assert derate_factor(85, 70, 85) == 0.0
    assert derate_factor(80, 70, 80 + 10) == pytest.approx(0.5)


def test_off_mode_ignores_darkness_and_on_mode_ignores_daylight(factory):
    ir = make(factory, illuminator_mode="off")
    assert not ir.update(0, now=0, cpu_temp_c=None) and not ir.is_on
    assert ir.set_mode("on", now=1) and ir.is_on
    assert not ir.update(255, now=2, cpu_temp_c=None) and ir.is_on
    assert values(factory) == [0.0, 0.8]


def test_set_mode_overrides_the_dwell_and_auto_resumes(factory):
    ir = make(factory, ir_min_dwell_s=600)
    assert ir.update(10, now=0, cpu_temp_c=None) and ir.is_on
    assert ir.set_mode("off", now=5) and not ir.is_on  # technician override: no dwell
    assert not ir.set_mode("auto", now=6)
    assert not ir.update(10, now=7, cpu_temp_c=None)  # dwell from the override applies
    assert ir.update(10, now=605, cpu_temp_c=None) and ir.is_on
    with pytest.raises(ValueError, match="mode must be one of"):
        ir.set_mode("blink", now=700)


def test_bad_light_levels(factory):
    ir = make(factory)
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="finite"):
            ir.update(bad, now=0, cpu_temp_c=None)
    assert not ir.update(None, now=0, cpu_temp_c=None) and not ir.is_on


def test_time_going_backwards_restarts_the_dwell(factory):
    ir = make(factory, ir_min_dwell_s=60)
    assert ir.update(0, now=1000, cpu_temp_c=None)
    assert not ir.update(0, now=1001, cpu_temp_c=None)
    assert not ir.update(255, now=10, cpu_temp_c=None)  # clock went back: hold, don't flap
    assert not ir.update(255, now=69, cpu_temp_c=None)
    assert ir.update(255, now=70, cpu_temp_c=None)


def test_close_turns_the_light_off_and_is_idempotent(factory):
    ir = make(factory, illuminator_mode="on")
    with ir:
        assert ir.duty == 0.8
    ir.close()
    assert factory.pin(PIN).state == 0.0
    assert values(factory)[-1] == 0.0
    assert ir.state()["closed"] and ir.state()["duty"] == 0.0
    with pytest.raises(DeviceClosed):
        ir.update(10, now=0, cpu_temp_c=None)
    with pytest.raises(DeviceClosed):
        _ = ir.is_on
    with pytest.raises(DeviceClosed):
        ir.set_mode("on", now=0)


def test_read_cpu_temp_c(tmp_path):
    zone = tmp_path / "temp"
    zone.write_text("48312\n")
    assert read_cpu_temp_c(zone) == pytest.approx(48.312)
    zone.write_text("garbage")
    assert read_cpu_temp_c(zone) is None
    assert read_cpu_temp_c(tmp_path / "absent") is None


def test_scene_brightness():
    import numpy as np

    assert scene_brightness(np.full((4, 4), 37, np.uint8)) == 37.0
    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[..., 1] = 100
    assert scene_brightness(bgr) == pytest.approx(58.7)
    with pytest.raises(ValueError):
        scene_brightness(np.zeros((0, 3), np.uint8))
