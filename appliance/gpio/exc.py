"""GPIO exceptions. Each also inherits the matching builtin, so callers may catch either."""


class GpioError(Exception):
    """Base class of GPIO device errors."""


class GpioUnavailable(GpioError, RuntimeError):
    """No pin factory here (not a Pi, no lgpio) and the config requires GPIO."""


class GpioConfigError(GpioError, ValueError):
    """A configured pin cannot be used (invalid for this board, already in use, no PWM)."""


class DeviceClosed(GpioError, RuntimeError):
    """The device was closed and cannot be used any more."""
