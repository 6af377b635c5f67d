"""Illuminator field test: the IR on/off brightness difference measured in captured frames.

Switches the illuminator off, on and off again through the unit's own gpio devices, flushes
the camera after each switch, and compares the mean luma of the frames. Run it at night or
with the target shaded: daylight swamps the IR.
"""

from __future__ import annotations

import logging
import statistics
import sys
import time

import cv2

from appliance.gpio import build_devices
from hw_tests.report import Report
from hw_tests.rig import Options

logger = logging.getLogger(__name__)
NAME = "illuminator"


def _level(source, options: Options) -> float:
    """Median mean luma of `measure_frames` frames, after `settle_frames` are dropped."""
    notify = getattr(source, "notify_ir_change", None)
    if notify is not None:
        notify()  # picamera2: the next frame is exposed after the switch
    for _ in range(options.settle_frames):
        source.read()
    return statistics.median(
        float(cv2.cvtColor(source.read().image, cv2.COLOR_BGR2GRAY).mean())
        for _ in range(options.measure_frames))


def _sweep(ill, source, temp: float | None, options: Options) -> tuple[dict, dict]:
    """Brightness and duty with IR off, on, off again."""
    levels, duties = {}, {}
    for step, mode in (("off", "off"), ("on", "on"), ("off_again", "off")):
        now = time.monotonic()
        ill.set_mode(mode, now=now)
        ill.update(None, now=now, cpu_temp_c=temp)  # apply thermal derating
        duties[step] = ill.duty
        levels[step] = _level(source, options)
    return levels, duties


def run(rig, options: Options) -> Report:
    report = Report(NAME, rig.simulate)
    cfg = rig.config.gpio
    only_ir = cfg.model_copy(update={"trigger_pin": None, "tamper_pin": None, "led_pin": None})
    temp = rig.cpu_temp_c()
    with build_devices(only_ir, pin_factory=rig.pin_factory()) as devices:
        ill = devices.illuminator
        if ill is None:
            report.error = f"no illuminator: {devices.unavailable_reason}"
            return report
        source = rig.camera(NAME)
        try:
            source.open()
            levels, duties = _sweep(ill, source, temp, options)
        finally:
            ill.set_mode("off", now=time.monotonic())
            source.close()
    delta, back = levels["on"] - levels["off"], levels["on"] - levels["off_again"]
    report.measurements.update(brightness=levels, duty=duties, cpu_temp_c=temp,
                               delta=delta, max_duty=cfg.illuminator_max_duty,
                               pin=cfg.illuminator_pin)
    report.check("duty_on", duties["on"] > 0, duties["on"], f"> 0 (cap {cfg.illuminator_max_duty})",
                 detail="" if duties["on"] > 0 else
                 f"thermal cutoff: CPU at {temp} °C >= derate_stop_c {cfg.derate_stop_c}")
    report.check("duty_off", duties["off"] == 0 and duties["off_again"] == 0,
                 [duties["off"], duties["off_again"]], "== 0")
    report.check("ir_delta", delta >= options.min_ir_delta, delta, f">= {options.min_ir_delta:g}",
                 detail="" if delta >= options.min_ir_delta else
                 f"IR on adds only {delta:.1f} levels of brightness: check the illuminator "
                 f"supply, driver and wiring to GPIO{cfg.illuminator_pin}, or test in the dark")
    report.check("ir_switches_off", back >= options.min_ir_delta, back,
                 f">= {options.min_ir_delta:g}",
                 detail="" if back >= options.min_ir_delta else
                 "brightness did not fall when IR was switched off again")
    return report


if __name__ == "__main__":
    from hw_tests.cli import main_for

    sys.exit(main_for(NAME))
