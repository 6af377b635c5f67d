"""Contact inputs: the vehicle trigger (loop detector / radar relay) and the tamper switch.

Callbacks run on gpiozero's event thread; an exception in one is logged, never lost silently
and never stops the other callbacks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from appliance.gpio.base import GpioDevice

logger = logging.getLogger(__name__)

Callback = Callable[[], None]


def _call_all(name: str, callbacks: list[Callback]) -> None:
    for cb in list(callbacks):
        try:
            cb()
        except Exception:
            logger.exception("%s callback %r failed", name, cb)


class Trigger(GpioDevice):
    """A gpiozero DigitalInputDevice; each activation (contact made) calls the callbacks."""

    name = "trigger"

    def __init__(self, device):
        super().__init__(device)
        self._callbacks: list[Callback] = []
        self.count = 0  # activations since start
        device.when_activated = self._fired

    @property
    def is_active(self) -> bool:
        return bool(self.device.is_active)

    def on_trigger(self, callback: Callback) -> None:
        self._check_open()
        self._callbacks.append(callback)

    def _fired(self) -> None:
        self.count += 1
        logger.debug("vehicle trigger #%d", self.count)
        _call_all(self.name, self._callbacks)

    def state(self) -> dict:
        closed = self.closed
        return {"active": False if closed else self.is_active, "count": self.count,
                "closed": closed}

    def _before_close(self, device) -> None:
        device.when_activated = None


class Tamper(GpioDevice):
    """A gpiozero DigitalInputDevice that is active while the enclosure is shut.

    Opening (deactivation; also a cut wire, thanks to the pull resistor) calls the callbacks.
    Registering a callback while the lid is already open reports it at once, so a unit that
    boots with its enclosure open still records the event.
    """

    name = "tamper"

    def __init__(self, device):
        super().__init__(device)
        self._callbacks: list[Callback] = []
        self.openings = 0
        device.when_deactivated = self._opened
        device.when_activated = self._shut
        if self.is_open:
            logger.warning("tamper switch: enclosure is open")

    @property
    def is_open(self) -> bool:
        return not self.device.is_active

    def on_tamper(self, callback: Callback) -> None:
        self._check_open()
        self._callbacks.append(callback)
        if self.is_open:
            _call_all(self.name, [callback])

    def _opened(self) -> None:
        self.openings += 1
        logger.warning("tamper switch: enclosure opened (#%d)", self.openings)
        _call_all(self.name, self._callbacks)

    def _shut(self) -> None:
        logger.info("tamper switch: enclosure closed")

    def state(self) -> dict:
        closed = self.closed
        return {"open": None if closed else self.is_open, "openings": self.openings,
                "closed": closed}

    def _before_close(self, device) -> None:
        device.when_deactivated = None
        device.when_activated = None
