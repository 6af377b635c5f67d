"""GPIO field test on the loopback jig: trigger, tamper switch and status LED.

The jig wires a spare output pin to each input (and the LED pin to a spare input); the test
drives the jig outputs and checks that the unit's own devices see every edge, and nothing
else. Without the jig the check fails, naming the flag to give.
"""

from __future__ import annotations

import logging
import queue
import statistics
import sys
import time

from appliance.gpio import Devices, build_devices
from hw_tests.report import Report
from hw_tests.rig import Options

logger = logging.getLogger(__name__)
NAME = "gpio"


def _jig_output(rig, pin: int, initial: bool):
    from gpiozero import DigitalOutputDevice

    return DigitalOutputDevice(pin, initial_value=initial, pin_factory=rig.pin_factory())


def _gap(rig) -> float:
    """Time between jig edges: well clear of the inputs' debounce."""
    return max(0.05, 3 * rig.config.gpio.input_bounce_s)


def check_trigger(report: Report, devices: Devices, rig, options: Options) -> None:
    cfg, jig = rig.config.gpio, rig.jig_pin("trigger")
    if devices.trigger is None:
        report.skip("trigger", "gpio.trigger_pin not set (no trigger fitted)")
        return
    if jig is None:
        report.check("trigger", False, detail="no jig output for the trigger: wire one to "
                     f"GPIO{cfg.trigger_pin} and give --jig-trigger-pin")
        return
    seen: queue.Queue[float] = queue.Queue()
    devices.on_trigger(lambda: seen.put(time.monotonic()))
    active_level = not cfg.trigger_active_low
    with _jig_output(rig, jig, initial=not active_level) as out:
        time.sleep(_gap(rig))
        report.check("trigger_idle", not devices.trigger.is_active, devices.trigger.is_active,
                     "inactive", detail="" if not devices.trigger.is_active else
                     "trigger reads active with the contact open: stuck input or wiring")
        latencies, received = [], 0
        for _ in range(options.pulses):
            t0 = time.monotonic()
            out.value = active_level
            try:
                latencies.append((seen.get(timeout=options.edge_timeout_s) - t0) * 1000)
                received += 1
            except queue.Empty:
                pass
            time.sleep(_gap(rig))
            out.value = not active_level
            time.sleep(_gap(rig))
    report.measurements["trigger"] = {"jig_pin": jig, "pin": cfg.trigger_pin,
                                      "latency_ms_median": statistics.median(latencies)
                                      if latencies else None}
    total = devices.trigger.count
    report.check("trigger", received == options.pulses and total == options.pulses,
                 {"received": received, "activations": total}, f"== {options.pulses}",
                 detail="" if received == total == options.pulses else
                 f"{received} of {options.pulses} jig pulses seen ({total} activations): check "
                 f"the wire GPIO{jig} -> GPIO{cfg.trigger_pin}")


def check_tamper(report: Report, devices: Devices, rig, options: Options) -> None:
    cfg, jig = rig.config.gpio, rig.jig_pin("tamper")
    if devices.tamper is None:
        report.skip("tamper", "gpio.tamper_pin not set (no tamper switch fitted)")
        return
    if jig is None:
        report.check("tamper", False, detail="no jig output for the tamper switch: wire one "
                     f"to GPIO{cfg.tamper_pin} and give --jig-tamper-pin")
        return
    opened: queue.Queue[float] = queue.Queue()
    open_level = cfg.tamper_open_high
    with _jig_output(rig, jig, initial=not open_level) as out:  # lid shut
        time.sleep(_gap(rig))
        shut_ok = not devices.tamper.is_open
        devices.on_tamper(lambda: opened.put(time.monotonic()))
        report.check("tamper_shut", shut_ok and opened.empty(), "open" if not shut_ok else "shut",
                     "shut", detail="" if shut_ok else "tamper reads open with the jig holding "
                     f"it shut: check the wire GPIO{jig} -> GPIO{cfg.tamper_pin}")
        t0 = time.monotonic()
        out.value = open_level  # lid opened
        try:
            latency = (opened.get(timeout=options.edge_timeout_s) - t0) * 1000
        except queue.Empty:
            latency = None
        time.sleep(_gap(rig))
        out.value = not open_level
        time.sleep(_gap(rig))
        reshut = not devices.tamper.is_open
    report.measurements["tamper"] = {"jig_pin": jig, "pin": cfg.tamper_pin,
                                     "latency_ms": latency}
    report.check("tamper_open", latency is not None, latency is not None,
                 "reported", detail="" if latency is not None else
                 f"opening was not reported within {options.edge_timeout_s} s")
    report.check("tamper_reshut", reshut, reshut, "shut")


def check_led(report: Report, devices: Devices, rig, options: Options) -> None:
    from gpiozero import DigitalInputDevice

    cfg, jig = rig.config.gpio, rig.jig_pin("led")
    if devices.led is None:
        report.skip("led", "gpio.led_pin not set (no status LED fitted)")
        return
    if jig is None:
        report.check("led", False, detail=f"no jig input for the LED: wire GPIO{cfg.led_pin} "
                     "to a spare pin and give --jig-led-pin")
        return
    edges = []
    with DigitalInputDevice(jig, pull_up=False, pin_factory=rig.pin_factory()) as sense:
        sense.when_activated = sense.when_deactivated = lambda: edges.append(time.monotonic())
        devices.led.set_status("safe")  # the fastest pattern: 0.1 s on, 0.1 s off
        time.sleep(0.65)
        devices.led.set_status("healthy")
        sense.when_activated = sense.when_deactivated = None
    report.measurements["led"] = {"jig_pin": jig, "pin": cfg.led_pin, "edges": len(edges)}
    report.check("led_blinks", len(edges) >= 4, len(edges), ">= 4 edges in 0.65 s",
                 detail="" if len(edges) >= 4 else
                 f"the LED pin did not blink: check the wire GPIO{cfg.led_pin} -> GPIO{jig}")


def run(rig, options: Options) -> Report:
    report = Report(NAME, rig.simulate)
    with build_devices(rig.config.gpio, pin_factory=rig.pin_factory()) as devices:
        if not devices.available:
            report.error = f"no GPIO: {devices.unavailable_reason}"
            return report
        check_trigger(report, devices, rig, options)
        check_tamper(report, devices, rig, options)
        check_led(report, devices, rig, options)
    return report


if __name__ == "__main__":
    from hw_tests.cli import main_for

    sys.exit(main_for(NAME))
