"""The status LED: one blink pattern per unit status, visible from the foot of the pole."""

from __future__ import annotations

import logging
from typing import Literal

from appliance.gpio.base import GpioDevice

logger = logging.getLogger(__name__)

Status = Literal["healthy", "degraded", "safe"]
# (on_time_s, off_time_s): a short heartbeat when all is well (a hung unit stops blinking),
# a slow even blink when degraded, a fast flicker in safe mode (console only, no capture).
PATTERNS: dict[str, tuple[float, float]] = {
    "healthy": (0.1, 1.9),
    "degraded": (0.5, 0.5),
    "safe": (0.1, 0.1),
}


class StatusLed(GpioDevice):
    """Wraps a gpiozero LED; `set_status` starts the pattern on gpiozero's blink thread."""

    name = "status LED"

    def __init__(self, led):
        super().__init__(led)
        self._status: str | None = None

    @property
    def status(self) -> str | None:
        return self._status

    @property
    def pattern(self) -> tuple[float, float] | None:
        return PATTERNS.get(self._status) if self._status else None

    def set_status(self, status: Status) -> bool:
        """Show `status`; True when the pattern changed (same status again keeps its rhythm)."""
        self._check_open()
        if status not in PATTERNS:
            raise ValueError(f"LED status must be one of {sorted(PATTERNS)}, got {status!r}")
        if status == self._status:
            return False
        on_time, off_time = PATTERNS[status]
        self._device.blink(on_time=on_time, off_time=off_time, background=True)
        logger.info("status LED: %s -> %s", self._status, status)
        self._status = status
        return True

    def state(self) -> dict:
        return {"status": self._status, "closed": self.closed}

    def _before_close(self, device) -> None:
        device.off()
