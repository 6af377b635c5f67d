"""GPIO devices of the unit (IR illuminator, vehicle trigger, tamper switch, status LED).

Everything goes through gpiozero; gpiozero is imported only when devices are built, so
importing this package touches no hardware.
"""

from appliance.gpio.devices import Devices, build_devices, resolve_pin_factory
from appliance.gpio.exc import DeviceClosed, GpioConfigError, GpioError, GpioUnavailable
from appliance.gpio.illuminator import (
    Illuminator,
    derate_factor,
    read_cpu_temp_c,
    scene_brightness,
)
from appliance.gpio.inputs import Tamper, Trigger
from appliance.gpio.led import PATTERNS, StatusLed

__all__ = [
    "PATTERNS", "DeviceClosed", "Devices", "GpioConfigError", "GpioError", "GpioUnavailable",
    "Illuminator", "StatusLed", "Tamper", "Trigger", "build_devices", "derate_factor",
    "read_cpu_temp_c", "resolve_pin_factory", "scene_brightness",
]
