"""The IR illuminator: a PWM-driven LED driver with off / on / auto modes.

Auto mode switches on the light level the capture loop passes in (mean scene brightness or the
camera's lux), with hysteresis (on below one threshold, off above a higher one) and a minimum
dwell between switches. IR light raises the very brightness it is judged by, so the light it
adds is measured on the first reading after switching on and subtracted (scaled by the duty)
before the switch-off test; otherwise a strong illuminator would switch itself off every
dwell period all night. The duty
is capped and derated linearly with the CPU temperature. Time and temperature are passed in,
so the logic is deterministic and testable; nothing here reads a clock.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Literal

import numpy as np

from appliance.config.gpio import GpioConfig
from appliance.gpio.base import GpioDevice

logger = logging.getLogger(__name__)

Mode = Literal["off", "on", "auto"]
MODES = ("off", "on", "auto")
CPU_THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")
DUTY_STEP = 0.01  # duty is quantised so tiny temperature changes do not rewrite the PWM


def read_cpu_temp_c(path: Path = CPU_THERMAL_ZONE) -> float | None:
    """CPU temperature in °C from the kernel's thermal zone; None when absent or unreadable."""
    try:
        return int(path.read_text().strip()) / 1000.0
    except (OSError, ValueError) as exc:
        logger.debug("no CPU temperature from %s: %s", path, exc)
        return None


def derate_factor(temp_c: float | None, start_c: float, stop_c: float) -> float:
    """1 at or below start_c, 0 at or above stop_c, linear between; 1 when unknown (None)."""
    if temp_c is None or temp_c <= start_c:
        return 1.0
    if temp_c >= stop_c:
        return 0.0
    return (stop_c - temp_c) / (stop_c - start_c)


def scene_brightness(gray_or_bgr: np.ndarray) -> float:
    """Mean brightness 0-255 of a frame (the low-res gray stream is cheapest)."""
    img = np.asarray(gray_or_bgr)
    if img.size == 0:
        raise ValueError("empty image has no brightness")
    if img.ndim == 3:  # BGR: Rec.601 luma, as a camera's Y plane
        img = img[..., 0] * 0.114 + img[..., 1] * 0.587 + img[..., 2] * 0.299
    return float(img.mean())


class Illuminator(GpioDevice):
    """Drives a gpiozero PWMOutputDevice (`pwm`) from the [gpio] settings."""

    name = "illuminator"

    def __init__(self, pwm, config: GpioConfig):
        super().__init__(pwm)
        self._cfg = config
        self._mode: Mode = config.illuminator_mode
        self._on = self._mode == "on"
        self._last_switch: float | None = None
        self._derate = 1.0
        self._cpu_temp_c: float | None = None
        self._level: float | None = None
        self._ambient_level: float | None = None
        self._boost_base: float | None = None  # ambient level when auto switched IR on
        self._boost: float | None = None  # level the IR adds at duty _boost_duty
        self._boost_duty = 0.0
        self.switches = 0  # on/off transitions since start (a flapping light shows here)
        self._apply()

    # -- reading -----------------------------------------------------------------------------
    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def is_on(self) -> bool:
        """Whether the illuminator is switched on (duty may still be derated, even to 0)."""
        self._check_open()
        return self._on

    @property
    def duty(self) -> float:
        """The duty cycle now on the pin, 0..illuminator_max_duty."""
        return float(self.device.value)

    @property
    def derate(self) -> float:
        return self._derate

    def state(self) -> dict:
        """Health snapshot."""
        closed = self.closed
        return {
            "mode": self._mode, "on": self._on and not closed,
            "duty": 0.0 if closed else self.duty, "max_duty": self._cfg.illuminator_max_duty,
            "derate": round(self._derate, 3), "thermal_cutoff": self._derate == 0.0,
            "cpu_temp_c": self._cpu_temp_c, "light_level": self._level,
            "ambient_level": self._ambient_level, "ir_boost": self._boost,
            "auto_input": self._cfg.ir_auto_input, "last_switch": self._last_switch,
            "switches": self.switches, "pin": self._cfg.illuminator_pin, "closed": closed,
        }

    # -- driving -----------------------------------------------------------------------------
    def update(self, brightness: float | None, now: float, cpu_temp_c: float | None) -> bool:
        """Feed one light measurement (None = none this time); True when IR switched on/off.

        `now` is a monotonic time in seconds; `cpu_temp_c` drives thermal derating.
        """
        self._check_open()
        if brightness is not None and not math.isfinite(brightness):
            raise ValueError(f"light level must be a finite number, got {brightness!r}")
        if self._last_switch is not None and now < self._last_switch:
            logger.warning("illuminator: time went backwards (%.3f < %.3f); dwell restarts",
                           now, self._last_switch)
            self._last_switch = now
        self._level = brightness
        self._cpu_temp_c = cpu_temp_c
        self._derate = derate_factor(cpu_temp_c, self._cfg.derate_start_c, self._cfg.derate_stop_c)
        self._learn_boost(brightness)
        self._ambient_level = self._ambient(brightness)  # under the duty this frame saw
        changed = self._switch(self._decide(self._ambient_level, now), now, reason="auto")
        self._apply()
        return changed

    def set_mode(self, mode: Mode, now: float) -> bool:
        """Technician override (console): takes effect at once, ignoring the dwell."""
        self._check_open()
        if mode not in MODES:
            raise ValueError(f"illuminator mode must be one of {MODES}, got {mode!r}")
        logger.info("illuminator mode %s -> %s", self._mode, mode)
        self._mode = mode
        changed = False
        if mode != "auto":
            changed = self._switch(mode == "on", now, reason=f"mode {mode}")
        self._apply()
        return changed

    def reconfigure(self, config: GpioConfig) -> None:
        """Live duty cap / threshold changes (console); the pin stays, the mode is set_mode's."""
        self._check_open()
        self._cfg = config
        self._apply()

    def _learn_boost(self, level: float | None) -> None:
        """First reading after an auto switch-on: how much our own IR adds to the level."""
        duty = float(self._device.value)  # the duty this frame was exposed under
        if level is None or not self._on or self._boost_base is None or self._boost is not None \
                or duty <= 0:
            return
        self._boost, self._boost_duty = max(0.0, level - self._boost_base), duty
        logger.info("IR illuminator adds %.1f to the light level at duty %.2f",
                    self._boost, duty)

    def _ambient(self, level: float | None) -> float | None:
        """The light level without our own IR (what the thresholds are about)."""
        if level is None or not self._on or not self._boost:
            return level
        return level - self._boost * float(self._device.value) / self._boost_duty

    def _decide(self, level: float | None, now: float) -> bool:
        if self._mode != "auto":
            return self._mode == "on"
        if level is None:
            return self._on
        dwell_left = (self._last_switch is not None
                      and now - self._last_switch < self._cfg.ir_min_dwell_s)
        if dwell_left:
            return self._on
        if not self._on and level < self._cfg.ir_on_below:
            return True
        if self._on and level > self._cfg.ir_off_above:
            return False
        return self._on

    def _switch(self, on: bool, now: float, *, reason: str) -> bool:
        if on == self._on:
            return False
        self._on = on
        self._last_switch = now
        self.switches += 1
        # Learn the IR's own contribution only from an auto switch-on, against the level
        # that caused it; a manual "on" has no dark baseline.
        self._boost_base = self._level if on and reason == "auto" else None
        self._boost = None
        logger.info("IR illuminator %s (%s, light level %s, derate %.2f)",
                    "on" if on else "off", reason, self._level, self._derate)
        return True

    def _apply(self) -> None:
        target = self._cfg.illuminator_max_duty * self._derate if self._on else 0.0
        # Round down so the cap is never exceeded.
        target = round(math.floor(target / DUTY_STEP + 1e-9) * DUTY_STEP, 4)
        if not math.isclose(self._device.value, target, abs_tol=1e-9):
            self._device.value = target

    def _before_close(self, device) -> None:
        device.off()  # never leave the light on behind a closed device
