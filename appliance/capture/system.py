"""Host probes for health: temperatures, disk space, and whether the wall clock is synchronised.

All read-only, cheap, and safe off the Pi (missing files give None, never an exception).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import shutil
import threading
import time
from pathlib import Path

logger = logging.getLogger(__name__)

THERMAL = Path("/sys/class/thermal")
TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
TIME_ERROR = 5  # adjtimex return value: clock not synchronised
STA_UNSYNC = 0x0040


def temperatures(root: Path = THERMAL) -> dict[str, float]:
    """{zone type: °C} from the kernel's thermal zones (cpu-thermal on a Pi)."""
    out: dict[str, float] = {}
    for zone in sorted(root.glob("thermal_zone*")):
        try:
            kind = (zone / "type").read_text().strip() or zone.name
            out[kind] = round(int((zone / "temp").read_text().strip()) / 1000.0, 1)
        except (OSError, ValueError):
            continue
    return out


def cpu_temperature(root: Path = THERMAL) -> float | None:
    """The CPU temperature (°C): the zone named like cpu/soc, else the hottest zone."""
    temps = temperatures(root)
    for kind, value in temps.items():
        if "cpu" in kind or "soc" in kind:
            return value
    return max(temps.values()) if temps else None


def disk_free(path: str | Path) -> dict:
    """Free and total bytes of the file system holding path (its nearest existing parent)."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        usage = shutil.disk_usage(p)
    except OSError as exc:
        return {"path": str(path), "error": exc.strerror}
    return {"path": str(path), "free_bytes": usage.free, "total_bytes": usage.total,
            "free_fraction": round(usage.free / usage.total, 4) if usage.total else None}


class _Timex(ctypes.Structure):
    # struct timex (linux/timex.h) on 64-bit; only `status` and the return value are used.
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long),
                ("status", ctypes.c_int), ("constant", ctypes.c_long),
                ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long),
                ("tick", ctypes.c_long), ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long),
                ("shift", ctypes.c_int), ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long),
                ("calcnt", ctypes.c_long), ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long),
                ("tai", ctypes.c_int), ("_pad", ctypes.c_int * 11)]


def _adjtimex_synced() -> bool | None:
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        tx = _Timex()  # modes = 0: read only, no privilege needed
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR and not tx.status & STA_UNSYNC


def clock_synchronised(flag: Path = TIMESYNC_FLAG) -> bool:
    """Is the wall clock NTP-synchronised? systemd-timesyncd's flag file, else the kernel's view."""
    if flag.exists():
        return True
    return bool(_adjtimex_synced())


class ClockStatus:
    """clock_synchronised() cached for `ttl_s`: it is asked once per frame."""

    def __init__(self, ttl_s: float = 5.0, probe=clock_synchronised):
        self.ttl_s, self._probe = ttl_s, probe
        self._value = False
        self._at: float | None = None
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._at is None or now - self._at >= self.ttl_s:
                try:
                    self._value = bool(self._probe())
                except Exception as exc:  # a probe must never stop capture
                    logger.warning("clock sync probe failed: %s", exc)
                    self._value = False
                self._at = now
            return self._value
