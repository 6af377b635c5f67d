"""Simulated units for the uplink: an in-memory outbox that obeys the store's rules, synthetic
reads, and (outbox, batch source, signer) for one unit.

For fleet benches (bench/fleet.py), receiver field tests and the test suite: many units' worth
of signed batches without a store file each. The batches are real (canonical JSON, Ed25519,
hash chain); only the outbox lives in memory. A unit in the field uses storage.store.Store.
"""

from __future__ import annotations

import hashlib
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.uplink.batch import BatchBuilder, BatchSource, Signer, alert_record, read_record
from inference.types import Candidate, Read
from storage.exc import StoreError
from storage.types import OutboxRecord


class MemoryOutbox:
    """In-memory outbox with the store's outbox rules (docs/interfaces.md "Outbox"): records in
    a sealed batch are no longer pending; seqs are consecutive; saving the same batch again is a
    no-op; acks are idempotent; unknown seqs are refused; only unacknowledged batches are resent.
    tests/test_uplink_sim.py runs one contract over this and the real store."""

    ORDER = {"alert": 0, "event": 1, "access": 1, "read": 2}

    def __init__(self) -> None:
        self.pending: dict[tuple[str, str], tuple[int, OutboxRecord]] = {}
        self.batches: dict[int, bytes] = {}
        self.acked: set[int] = set()
        self.uplinked: set[tuple[str, str]] = set()
        self._keys: dict[int, list] = {}
        self._n = 0

    def add(self, kind: str, record_id: str, payload: dict) -> None:
        self._n += 1
        self.pending[(kind, record_id)] = (self._n, OutboxRecord(kind, record_id, payload))

    def add_read(self, read: Read) -> None:
        self.add("read", read.read_id, read_record(read))

    def add_alert(self, alert) -> None:
        self.add("alert", alert.alert_id, alert_record(alert))

    def outbox_pending(self, limit: int) -> list[OutboxRecord]:
        items = sorted(self.pending.values(), key=lambda t: (self.ORDER[t[1].kind], t[0]))
        return [rec for _, rec in items[:limit]]

    def save_batch(self, seq: int, body: bytes, record_keys: list) -> None:
        """``record_keys``: OutboxRecords or (kind, record_id) pairs, as the store takes."""
        if self.batches.get(seq) == body:
            return
        last = max(self.batches, default=0)
        if seq != last + 1:
            raise StoreError(f"batch {seq} is not the one after the last saved batch {last}")
        keys = [(k.kind, k.record_id) if isinstance(k, OutboxRecord) else tuple(k)
                for k in record_keys]
        for key in keys:
            del self.pending[key]
        self.batches[seq] = body
        self._keys[seq] = keys

    def batches_after(self, seq: int, limit: int) -> list[tuple[int, bytes]]:
        return [(s, self.batches[s]) for s in sorted(self.batches)
                if s > seq and s not in self.acked][:limit]

    def ack_batch(self, seq: int) -> None:
        if seq not in self.batches:
            raise StoreError(f"no batch {seq} to acknowledge")
        self.acked.add(seq)
        self.uplinked.update(self._keys[seq])

    def last_batch(self) -> tuple[int, str] | None:
        if not self.batches:
            return None
        seq = max(self.batches)
        return seq, hashlib.sha256(self.batches[seq]).hexdigest()

    def last_acked_seq(self) -> int:
        n = 0
        while n + 1 in self.acked:
            n += 1
        return n


def make_read(plate: str = "7ABC123", alts: tuple[str, ...] = (), t: float = 1.8e9) -> Read:
    cands = (Candidate(plate, 0.9, "US-CA"),) + tuple(Candidate(a, 0.5) for a in alts)
    return Read(read_id=uuid.uuid4().hex, plate=plate, confidence=0.9, candidates=cands,
                first_seen_wall=t, last_seen_wall=t + 0.4, first_seen_mono=100.0,
                last_seen_mono=100.4, clock_synced=True, frames_used=5, crop_jpeg=b"\xff\xd8jpeg")


def make_unit(device_id: str = "unit-1", *, max_records: int = 100, window: int = 4,
              outbox=None, key: Ed25519PrivateKey | None = None):
    """(outbox, source, signer) for one simulated unit."""
    outbox = outbox if outbox is not None else MemoryOutbox()
    signer = Signer(key or Ed25519PrivateKey.generate())
    builder = BatchBuilder(outbox, signer, device_id, max_records=max_records,
                           health=lambda: {"temp_c": 51.5, "disk_free": 0.8})
    return outbox, BatchSource(outbox, builder, window=window), signer
