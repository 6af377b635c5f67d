"""[gpio]: IR illuminator, vehicle trigger, tamper switch and status LED (BCM pin numbers)."""

from typing import Literal

from pydantic import Field, model_validator

from appliance.config.base import Section

_PIN = {"ge": 0, "le": 27}


class GpioConfig(Section):
    enabled: bool = Field(True, description=(
        "Drive GPIO devices. Off the Pi (no pin factory) they are skipped with a warning."))
    required: bool = Field(False, description=(
        "Refuse to start when GPIO is unavailable (no pin factory) instead of running without "
        "it; set this on production units."))
    illuminator_pin: int = Field(18, **_PIN, description="PWM pin of the IR illuminator driver.")
    illuminator_mode: Literal["off", "on", "auto"] = Field(
        "auto", description="IR illuminator mode.")
    illuminator_pwm_hz: int = Field(1000, ge=50, le=40_000, description="PWM frequency.")
    illuminator_max_duty: float = Field(
        0.8, gt=0, le=1.0, description="Duty-cycle cap of the illuminator.")
    ir_auto_input: Literal["brightness", "lux"] = Field("brightness", description=(
        "auto: the light level the capture loop passes in: mean scene brightness 0-255 of "
        "the low-res stream, or the camera's lux estimate."))
    ir_on_below: float = Field(40.0, ge=0, le=100_000, description=(
        "auto: switch IR on when the light level (see ir_auto_input) falls below this."))
    ir_off_above: float = Field(70.0, ge=0, le=100_000, description=(
        "auto: switch IR off when the light level rises above this (hysteresis)."))
    ir_min_dwell_s: float = Field(
        60.0, ge=0, le=3600, description="auto: minimum time between IR switches.")
    derate_start_c: float = Field(
        70.0, ge=30, le=100, description="CPU temperature at which IR duty starts derating.")
    derate_stop_c: float = Field(85.0, ge=30, le=110, description=(
        "CPU temperature at which IR is off (linear derating between)."))
    trigger_pin: int | None = Field(None, **_PIN, description=(
        "Vehicle trigger input (loop detector/radar contact); none = no trigger."))
    trigger_active_low: bool = Field(True, description=(
        "Trigger contact closes to ground (internal pull-up); false = active-high signal "
        "(internal pull-down)."))
    trigger_burst_s: float = Field(
        3.0, gt=0, le=60, description="Capture burst length after a trigger.")
    tamper_pin: int | None = Field(
        None, **_PIN, description="Enclosure tamper switch input; none = not fitted.")
    tamper_open_high: bool = Field(True, description=(
        "Tamper switch closes to ground while the lid is shut (internal pull-up), so an open "
        "lid or a cut wire reads high; false = switch to 3V3 with internal pull-down."))
    input_bounce_s: float = Field(
        0.05, ge=0, le=1.0, description="Debounce time of the trigger and tamper inputs.")
    led_pin: int | None = Field(None, **_PIN, description="Status LED output; none = not fitted.")
    led_active_high: bool = Field(True, description=(
        "Status LED lights when its pin is high (false: the pin sinks the LED current)."))

    @model_validator(mode="after")
    def _hysteresis(self) -> "GpioConfig":
        if self.ir_off_above <= self.ir_on_below:
            raise ValueError(f"ir_off_above ({self.ir_off_above}) must be greater than "
                             f"ir_on_below ({self.ir_on_below})")
        if self.ir_auto_input == "brightness" and self.ir_off_above > 255:
            raise ValueError(f"ir_off_above ({self.ir_off_above}) must be at most 255 when "
                             "ir_auto_input = 'brightness'")
        if self.derate_stop_c <= self.derate_start_c:
            raise ValueError("derate_stop_c must be greater than derate_start_c")
        pins = [p for p in (self.illuminator_pin, self.trigger_pin, self.tamper_pin,
                            self.led_pin) if p is not None]
        if len(pins) != len(set(pins)):
            raise ValueError(f"GPIO pins must be distinct, got {pins}")
        return self
