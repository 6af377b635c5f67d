"""Helpers shared by tests/test_store_*.py (real SQLite files under tmp_path, real crypto)."""

from __future__ import annotations

import os
import uuid

from inference.types import Candidate, Read
from storage.store import Store
from storage.types import AccessContext

DAY = 86400.0
JPEG = b"\xff\xd8\xff\xe0"


class Clock:
    """A settable clock injected into the store."""

    def __init__(self, t: float = 1_700_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


def make_read(plate: str = "7ABC123", *, t: float = 1_700_000_000.0, crop_bytes: int = 2000,
              frame_bytes: int = 0, read_id: str | None = None) -> Read:
    crop = JPEG + os.urandom(crop_bytes) if crop_bytes else None
    frame = JPEG + os.urandom(frame_bytes) if frame_bytes else None
    return Read(read_id=read_id or uuid.uuid4().hex, plate=plate, confidence=0.93,
                candidates=(Candidate(plate, 0.93, "US-CA"), Candidate(plate[:-1] + "8", 0.4)),
                first_seen_wall=t, last_seen_wall=t + 1.5, first_seen_mono=100.0,
                last_seen_mono=101.5, clock_synced=True, frames_used=5, direction="approaching",
                box=(10.0, 20.0, 120.0, 40.0), region="US-CA", crop_jpeg=crop, frame_jpeg=frame,
                extra={"model": "ocr-v1"})


def open_store(path, kek: bytes | None = None, *, clock=None, budget: int = 50_000_000,
               after_ack: float = 3 * DAY, max_ret: float = 30 * DAY, period: float = DAY,
               **kw) -> Store:
    return Store.open(path, kek or KEK, budget_bytes=budget, retention_after_ack_s=after_ack,
                      max_retention_s=max_ret, period_s=period, clock=clock or Clock(), **kw)


KEK = bytes(range(32))
INVESTIGATOR = AccessContext(user="det.jones", organisation="Springfield PD", role="investigator",
                             purpose="stolen vehicle investigation", case_number="2024-00123",
                             address="10.0.0.5")
AUDITOR = AccessContext(user="aud.smith", organisation="Springfield PD", role="auditor",
                        purpose="quarterly audit")
