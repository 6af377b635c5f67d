"""Build signed batches from the store's outbox; push and pull share them through `BatchSource`.

Only a small window of batches is built ahead of the server's acknowledgement: the outbox (where
alerts sort first) stays the queue, so an alert raised during a long backlog still rides in the
very next batch instead of behind thousands of sealed read batches.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.uplink import reqsign
from appliance.uplink.verify import FORMAT, GENESIS_HASH, canonical, envelope_bytes, sha256_hex
from storage.codec import read_payload

logger = logging.getLogger(__name__)

# outbox record kind -> batch section. The store's "event" records are its tamper-evident access
# log (every access to ALPR data and every security event); other unit events go to "events".
SECTION_OF_KIND = {"alert": "alerts", "read": "reads", "event": "access_log"}


class OutboxRecord(Protocol):
    kind: str
    record_id: str
    payload: dict


class Outbox(Protocol):
    """The slice of `storage.store.Store` the uplink uses (docs/interfaces.md, "Store")."""

    def outbox_pending(self, limit: int) -> list[Any]: ...
    def save_batch(self, seq: int, body: bytes, record_keys: list) -> None: ...
    def batches_after(self, seq: int, limit: int) -> list[tuple[int, bytes]]: ...
    def ack_batch(self, seq: int) -> None: ...
    def last_batch(self) -> tuple[int, str] | None: ...
    def last_acked_seq(self) -> int: ...


class Signer:
    """The unit's Ed25519 identity key."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    @classmethod
    def from_pem_file(cls, path: str | Path) -> Signer:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key")
        return cls(key)

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def sign_request(self, method: str, path_qs: str, body: bytes = b"") -> dict[str, str]:
        """Headers authenticating a request to the agency server (reqsign.py)."""
        return reqsign.sign_request(self._key, method, path_qs, body)

    def public_pem(self) -> bytes:
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def read_record(read: Any) -> dict:
    """JSON record of an `inference.types.Read`, as the store's outbox gives it."""
    return read_payload(read)


def alert_record(alert: Any) -> dict:
    """JSON record of a `storage.types.Alert`; ``confirmed`` is always false on the unit."""
    return {**dataclasses.asdict(alert), "confirmed": False}


class BatchBuilder:
    """Seal the next batch from the outbox: number it, chain it, sign it, save it."""

    def __init__(self, outbox: Outbox, signer: Signer, device_id: str, *, max_records: int = 200,
                 health: Callable[[], dict] = dict, clock: Callable[[], float] = time.time,
                 send_overview_images: bool = False) -> None:
        self.outbox = outbox
        self.send_overview_images = send_overview_images
        self.signer = signer
        self.device_id = device_id
        self.max_records = max_records
        self.health = health
        self.clock = clock

    def build_next(self) -> tuple[int, bytes] | None:
        pending = self.outbox.outbox_pending(self.max_records)
        if not pending:
            return None
        last = self.outbox.last_batch()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        batch: dict = {"format": FORMAT, "device_id": self.device_id, "seq": seq,
                       "prev_hash": prev, "created": self.clock(), "health": self.health(),
                       "reads": [], "alerts": [], "events": [], "access_log": []}
        for rec in pending:
            batch[SECTION_OF_KIND.get(rec.kind, "events")].append(self._payload(rec))
        body = self.seal(batch)
        self.outbox.save_batch(seq, body, [(r.kind, r.record_id) for r in pending])
        logger.debug("batch %s sealed: %s records, %s bytes", seq, len(pending), len(body))
        return seq, body

    def _payload(self, rec: Any) -> dict:
        payload = dict(rec.payload)
        if rec.kind == "alert":
            payload["confirmed"] = False  # only an officer, through CLETS, confirms a hit
        elif rec.kind == "read" and not self.send_overview_images:
            payload.pop("frame_jpeg_b64", None)
        return payload

    def seal(self, batch: dict) -> bytes:
        batch_c = canonical(batch)
        return envelope_bytes(batch_c, self.signer.sign(batch_c))


class BatchSource:
    """What push and pull both see: unacknowledged batches, built on demand, acked by number."""

    def __init__(self, outbox: Outbox, builder: BatchBuilder, *, window: int = 4) -> None:
        self.outbox = outbox
        self.builder = builder
        self.window = window
        self._lock = threading.Lock()  # the console (pull) and the pusher may run in other threads

    def unacked(self, limit: int | None = None) -> list[tuple[int, bytes]]:
        """Sealed but unacknowledged batches, building new ones up to the window."""
        with self._lock:
            limit = limit or self.window
            have = self.outbox.batches_after(self.outbox.last_acked_seq(), limit)
            while len(have) < min(limit, self.window) and (built := self.builder.build_next()):
                have.append(built)
            return have

    def batches_after(self, seq: int, limit: int) -> list[tuple[int, bytes]]:
        """For pull: batches after ``seq`` (the server's view), building if it has caught up."""
        with self._lock:
            have = self.outbox.batches_after(seq, limit)
        if have or seq < self.outbox.last_acked_seq():
            return have
        return [b for b in self.unacked(limit) if b[0] > seq]

    def ack(self, seq: int) -> int:
        """Acknowledge every batch up to ``seq`` (idempotent). Returns the number newly acked."""
        with self._lock:
            last = self.outbox.last_acked_seq()
            if seq <= last:
                return 0
            known = self.outbox.last_batch()
            if known is None or seq > known[0]:
                raise ValueError(f"cannot ack batch {seq}: never sealed")
            for n in range(last + 1, seq + 1):
                self.outbox.ack_batch(n)
            return seq - last

    def last_sealed(self) -> tuple[int, str]:
        last = self.outbox.last_batch()
        return last if last else (0, GENESIS_HASH)


def body_hash(body: bytes) -> str:
    """Hash of a batch as the next batch's prev_hash names it."""
    return sha256_hex(body)
