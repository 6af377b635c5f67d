"""systemd notifications (sd_notify) over the NOTIFY_SOCKET datagram socket, and the watchdog.

READY=1 once capture runs, WATCHDOG=1 only while frames progress, STOPPING=1 on shutdown.
Without NOTIFY_SOCKET (not under systemd) every call is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Notifier:
    def __init__(self, address: str | None = None):
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # abstract namespace
            address = "\0" + address[1:]
        self.address = address or None
        self.sent: list[str] = []  # history, for health and tests
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, state: str) -> bool:
        """Send one state string ("READY=1", "WATCHDOG=1", ...); False if not sent."""
        if self.address is None:
            return False
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX,
                                               socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.sendto(state.encode(), self.address)
            except OSError as exc:
                logger.warning("sd_notify %s failed: %s", state.split("=")[0], exc)
                return False
            self.sent.append(state)
            if len(self.sent) > 100:
                del self.sent[:50]
        return True

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


def watchdog_interval(default_s: float = 5.0) -> float:
    """Half of systemd's WatchdogSec (WATCHDOG_USEC) when set, else default_s."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    if usec.isdigit() and int(usec) > 0:
        return int(usec) / 2e6
    return default_s


class Watchdog:
    """Pings WATCHDOG=1 every interval while `alive()` says so; a stall lets systemd restart us."""

    def __init__(self, notifier: Notifier, alive: Callable[[], bool], *, interval_s: float):
        self.notifier, self.alive, self.interval_s = notifier, alive, interval_s
        self.pings = 0
        self.missed = 0
        self.last_ping: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alpr-watchdog", daemon=True)

    def start(self) -> None:
        if self.notifier.enabled:
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            if self.alive():
                if self.notifier.notify("WATCHDOG=1"):
                    self.pings += 1
                    self.last_ping = time.monotonic()
            else:
                self.missed += 1
                if self.missed == 1 or self.missed % 10 == 0:
                    logger.error("capture stalled: withholding watchdog pings (%d)", self.missed)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
