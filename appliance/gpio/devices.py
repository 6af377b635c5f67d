"""Build the unit's GPIO devices from [gpio]; the one place that constructs gpiozero devices.

Pin factory: the one passed in (tests: MockFactory(pin_class=MockPWMPin)), else gpiozero's
own (`Device.pin_factory`, or its default: lgpio on a Pi). When there is none (a laptop, CI):
with `gpio.required = false` the unit runs without GPIO and says so in a warning and in
health; with `gpio.required = true` build_devices raises GpioUnavailable, because a production
unit that silently lost its illuminator and tamper switch would be worse than one that stops.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.config.gpio import GpioConfig
from appliance.gpio.exc import GpioConfigError, GpioUnavailable
from appliance.gpio.illuminator import Illuminator
from appliance.gpio.inputs import Tamper, Trigger
from appliance.gpio.led import StatusLed

logger = logging.getLogger(__name__)


@dataclass
class Devices:
    """The unit's GPIO devices; a member is None when not fitted or GPIO is unavailable."""

    illuminator: Illuminator | None = None
    trigger: Trigger | None = None
    tamper: Tamper | None = None
    led: StatusLed | None = None
    unavailable_reason: str | None = None  # why there are no devices at all (health shows it)
    _closed: bool = field(default=False, repr=False)

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None

    def _members(self) -> list:
        return [d for d in (self.illuminator, self.trigger, self.tamper, self.led) if d is not None]

    def on_trigger(self, callback: Callable[[], None]) -> bool:
        """Call `callback()` on each vehicle trigger; False when no trigger is fitted."""
        if self.trigger is None:
            return False
        self.trigger.on_trigger(callback)
        return True

    def on_tamper(self, callback: Callable[[], None]) -> bool:
        """Call `callback()` when the enclosure opens; False when no tamper switch is fitted."""
        if self.tamper is None:
            return False
        self.tamper.on_tamper(callback)
        return True

    def state(self) -> dict:
        """Health snapshot of every device."""
        return {
            "available": self.available, "reason": self.unavailable_reason,
            "illuminator": self.illuminator.state() if self.illuminator else None,
            "trigger": self.trigger.state() if self.trigger else None,
            "tamper": self.tamper.state() if self.tamper else None,
            "led": self.led.state() if self.led else None,
        }

    def close(self) -> None:
        """Close every device (illuminator and LED off); safe to call twice."""
        self._closed = True
        for dev in reversed(self._members()):
            try:
                dev.close()
            except Exception:
                logger.exception("closing %s failed", dev.name)

    def __enter__(self) -> Devices:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def resolve_pin_factory(pin_factory=None):
    """The factory to use, or None when gpiozero has none here (reason logged)."""
    if pin_factory is not None:
        return pin_factory
    from gpiozero import Device
    from gpiozero.exc import BadPinFactory

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gpiozero warns per backend it falls back from
        try:
            Device.ensure_pin_factory()
        except BadPinFactory as exc:
            logger.debug("no gpiozero pin factory: %s", exc)
            return None
    return Device.pin_factory


def build_devices(gpio_config: GpioConfig, pin_factory=None) -> Devices:
    """Construct the devices [gpio] names. See the module docstring for the no-GPIO cases."""
    if not gpio_config.enabled:
        logger.info("gpio.enabled = false: no GPIO devices")
        return Devices(unavailable_reason="disabled in config (gpio.enabled = false)")
    factory = resolve_pin_factory(pin_factory)
    if factory is None:
        reason = "no GPIO pin factory (not a Raspberry Pi, or lgpio not installed)"
        if gpio_config.required:
            raise GpioUnavailable(f"{reason}, and gpio.required = true")
        logger.warning("%s: running without illuminator, trigger, tamper switch and LED", reason)
        return Devices(unavailable_reason=reason)
    devices = Devices()
    try:
        devices.illuminator = _make("illuminator_pin", gpio_config, lambda: Illuminator(
            _pwm(gpio_config, factory), gpio_config))
        devices.trigger = _make("trigger_pin", gpio_config, lambda: Trigger(_input(
            gpio_config.trigger_pin, gpio_config.trigger_active_low, gpio_config, factory)))
        devices.tamper = _make("tamper_pin", gpio_config, lambda: Tamper(_input(
            gpio_config.tamper_pin, gpio_config.tamper_open_high, gpio_config, factory)))
        devices.led = _make("led_pin", gpio_config, lambda: StatusLed(_led(gpio_config, factory)))
    except BaseException:
        devices.close()  # release the pins already claimed
        raise
    return devices


def _make(key: str, cfg: GpioConfig, build: Callable):
    """Build one device; a pin the board refuses becomes a GpioConfigError naming the key."""
    if getattr(cfg, key) is None:
        return None
    try:
        return build()
    except Exception as exc:  # gpiozero's errors, and the backend's own (lgpio.error: busy)
        raise GpioConfigError(f"gpio.{key} = {getattr(cfg, key)}: "
                              f"{type(exc).__name__}: {exc}") from exc


def _pwm(cfg: GpioConfig, factory):
    from gpiozero import PWMOutputDevice

    return PWMOutputDevice(cfg.illuminator_pin, frequency=cfg.illuminator_pwm_hz,
                           initial_value=0, pin_factory=factory)


def _input(pin: int, pull_up: bool, cfg: GpioConfig, factory):
    from gpiozero import DigitalInputDevice

    return DigitalInputDevice(pin, pull_up=pull_up, bounce_time=cfg.input_bounce_s or None,
                              pin_factory=factory)


def _led(cfg: GpioConfig, factory):
    from gpiozero import LED

    return LED(cfg.led_pin, active_high=cfg.led_active_high, initial_value=False,
               pin_factory=factory)
