"""The JSON report every field test writes, and how its status maps to an exit code."""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PASS, FAIL, SKIPPED = "pass", "fail", "skipped"
# Exit codes: a skipped test on real hardware is not a pass (a unit must not go up the pole
# untested), but in --simulate a skip (e.g. no models yet) is reported and exits 0.
EXIT_PASS, EXIT_FAIL, EXIT_SKIPPED = 0, 1, 2


@dataclass
class Check:
    """One measured criterion: ok None = skipped (with the reason in detail)."""

    name: str
    ok: bool | None
    value: Any = None
    limit: str | None = None  # the pass criterion, e.g. ">= 12.0"
    detail: str = ""


@dataclass
class Report:
    test: str
    simulate: bool
    checks: list[Check] = field(default_factory=list)
    measurements: dict = field(default_factory=dict)
    started_wall: float = field(default_factory=time.time)
    duration_s: float = 0.0
    error: str | None = None  # the test could not run to the end (camera missing, ...)

    def check(self, name: str, ok: bool | None, value: Any = None, limit: str | None = None,
              detail: str = "") -> Check:
        c = Check(name, None if ok is None else bool(ok), _plain(value), limit, detail)
        self.checks.append(c)
        return c

    def skip(self, name: str, why: str) -> Check:
        return self.check(name, None, detail=f"skipped: {why}")

    @property
    def status(self) -> str:
        if self.error or any(c.ok is False for c in self.checks):
            return FAIL
        if not self.checks or all(c.ok is None for c in self.checks):
            return SKIPPED
        return PASS

    @property
    def reason(self) -> str | None:
        """Why it did not pass, in one line (None when it passed)."""
        if self.error:
            return self.error
        bad = [c for c in self.checks if c.ok is False]
        if bad:
            return "; ".join(f"{c.name}: {_why(c)}" for c in bad)
        if self.status == SKIPPED:
            return "; ".join(c.detail for c in self.checks) or "no checks ran"
        return None

    def exit_code(self) -> int:
        status = self.status
        if status == PASS:
            return EXIT_PASS
        if status == SKIPPED:
            return EXIT_PASS if self.simulate else EXIT_SKIPPED
        return EXIT_FAIL

    def to_dict(self) -> dict:
        return {
            "test": self.test, "status": self.status, "reason": self.reason,
            "simulate": self.simulate, "host": platform.node(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started_wall)),
            "duration_s": round(self.duration_s, 3), "checks": [asdict(c) for c in self.checks],
            "measurements": _plain(self.measurements), "error": self.error,
        }

    def write(self, path: str | Path) -> Path:
        """Write the report atomically (a power cut leaves the old file or the new one)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return path

    def summary(self) -> str:
        line = f"{self.test}: {self.status.upper()}"
        if self.simulate:
            line += " (simulated)"
        return f"{line} - {self.reason}" if self.reason else line


def _why(c: Check) -> str:
    if c.detail:
        return c.detail
    return f"{c.value} (needs {c.limit})" if c.limit else f"{c.value}"


def _plain(value: Any) -> Any:
    """numpy scalars and tuples -> JSON-ready Python values; floats rounded for reading."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        value = value.item()
    if isinstance(value, float):
        return round(value, 4)
    return value
