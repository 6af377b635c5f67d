"""What every GPIO wrapper shares: idempotent close, context manager, use-after-close error."""

from __future__ import annotations

import logging

from appliance.gpio.exc import DeviceClosed

logger = logging.getLogger(__name__)


class GpioDevice:
    """Owns one gpiozero device; closing twice is safe, using a closed device raises."""

    name = "device"

    def __init__(self, device) -> None:
        self._device = device

    @property
    def closed(self) -> bool:
        return self._device is None

    @property
    def device(self):
        """The underlying gpiozero device (for health pages and tests)."""
        self._check_open()
        return self._device

    def _check_open(self) -> None:
        if self._device is None:
            raise DeviceClosed(f"{self.name} is closed")

    def close(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            self._before_close(device)
            device.close()

    def _before_close(self, device) -> None:
        """Subclasses put the output into its safe state here."""

    def __enter__(self):
        self._check_open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
