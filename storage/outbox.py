"""What the uplink sends: pending records, saved (sealed) batches, acknowledgements.

Push and pull share this state. A record belongs to at most one batch (`batch_seq`); a batch
body is sealed under the data key of the period it was saved in and dropped once acknowledged.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable

from storage.auditlog import AuditLog
from storage.codec import alert_dict, alert_from_dict, loads, read_from_meta, read_payload
from storage.db import Database
from storage.exc import StoreError
from storage.keyring import KeyRing
from storage.types import OutboxRecord

logger = logging.getLogger(__name__)

_TABLES = {"alert": ("alerts", "alert_id"), "event": ("access_log", "seq"),
           "read": ("reads", "read_id")}


class Outbox:
    def __init__(self, database: Database, keys: KeyRing, audit: AuditLog,
                 clock: Callable[[], float]):
        self._db = database
        self._keys = keys
        self._audit = audit
        self._clock = clock

    def pending(self, limit: int) -> list[OutboxRecord]:
        """Alerts (by priority), then access-log events, then reads; oldest first."""
        conn = self._db.conn
        out: list[OutboxRecord] = []
        for alert_id, key_id, sealed in conn.execute(
                "SELECT alert_id, key_id, sealed FROM alerts WHERE batch_seq IS NULL "
                "ORDER BY priority, aid LIMIT ?", (limit,)):
            data = loads(self._keys.get(key_id).open(alert_id, "alert", sealed))
            out.append(OutboxRecord("alert", alert_id, alert_dict(alert_from_dict(data))))
        if len(out) < limit:
            out += [OutboxRecord("event", str(seq), entry)
                    for seq, entry in self._audit.unsent(limit - len(out))]
        if len(out) < limit:
            rows = conn.execute(
                "SELECT read_id, key_id, meta, crop, frame FROM reads WHERE batch_seq IS NULL "
                "ORDER BY rid LIMIT ?", (limit - len(out),))
            for read_id, key_id, meta, crop, frame in rows:
                key = self._keys.get(key_id)
                read = read_from_meta(loads(key.open(read_id, "meta", meta)),
                                      key.open(read_id, "crop", crop) if crop else None,
                                      key.open(read_id, "frame", frame) if frame else None)
                out.append(OutboxRecord("read", read_id, read_payload(read)))
        return out

    def save(self, seq: int, body: bytes, record_keys: Iterable) -> None:
        """Keep a batch (sealed) and mark its records batched; saving it again is a no-op."""
        digest = hashlib.sha256(body).hexdigest()
        row = self._db.conn.execute("SELECT sha256 FROM batches WHERE seq=?", (seq,)).fetchone()
        if row is not None:
            if row[0] != digest:
                raise StoreError(f"batch {seq} was already saved with different content")
            return
        last = self._db.conn.execute("SELECT max(seq) FROM batches").fetchone()[0]
        if last is not None and seq <= last:
            raise StoreError(f"batch {seq} is not after the last saved batch {last}")
        key = self._keys.current()
        self._db.conn.execute(
            "INSERT INTO batches(seq, sha256, key_id, body, created) VALUES (?,?,?,?,?)",
            (seq, digest, key.key_id, key.seal(f"batch-{seq}", "batch", body), self._clock()))
        self._keys.adjust(key.key_id, 1)
        for item in record_keys:
            if isinstance(item, OutboxRecord):
                item = (item.kind, item.record_id)
            kind, record_id = item
            if kind not in _TABLES:
                raise StoreError(f"unknown outbox record kind {kind!r}")
            table, column = _TABLES[kind]
            value = int(record_id) if kind == "event" else record_id
            self._db.conn.execute(
                f"UPDATE {table} SET batch_seq=? WHERE {column}=? AND batch_seq IS NULL",  # noqa: S608
                (seq, value))

    def after(self, seq: int, limit: int) -> list[tuple[int, bytes]]:
        rows = self._db.conn.execute(
            "SELECT seq, key_id, body FROM batches WHERE seq > ? AND body IS NOT NULL "
            "ORDER BY seq LIMIT ?", (seq, limit))
        return [(s, self._keys.get(k).open(f"batch-{s}", "batch", b)) for s, k, b in rows]

    def ack(self, seq: int) -> bool:
        """Mark batch `seq` and its records acknowledged. Returns False if it was already acked."""
        row = self._db.conn.execute("SELECT key_id, acked, body FROM batches WHERE seq=?",
                                    (seq,)).fetchone()
        if row is None:
            raise StoreError(f"no batch {seq} to acknowledge")
        key_id, acked, body = row
        if acked is not None:
            return False
        now = self._clock()
        conn = self._db.conn
        conn.execute("UPDATE batches SET acked=?, body=NULL WHERE seq=?", (now, seq))
        if body is not None:
            self._keys.adjust(key_id, -1)
        conn.execute("UPDATE reads SET acked=?, state=CASE WHEN holds > 0 THEN 2 ELSE 1 END "
                     "WHERE batch_seq=? AND acked IS NULL", (now, seq))
        conn.execute("UPDATE alerts SET acked=? WHERE batch_seq=? AND acked IS NULL", (now, seq))
        return True

    def last_batch(self) -> tuple[int, str] | None:
        row = self._db.conn.execute(
            "SELECT seq, sha256 FROM batches ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else None

    def last_acked_seq(self) -> int:
        sql = "SELECT max(seq) FROM batches WHERE acked IS NOT NULL"
        return self._db.conn.execute(sql).fetchone()[0] or 0

    def backlog(self) -> dict[str, int]:
        def count(sql: str) -> int:
            return self._db.conn.execute(sql).fetchone()[0]

        return {
            "reads": count("SELECT count(*) FROM reads WHERE batch_seq IS NULL"),
            "alerts": count("SELECT count(*) FROM alerts WHERE batch_seq IS NULL"),
            "events": count("SELECT count(*) FROM access_log WHERE batch_seq IS NULL"),
            "batches_unacked": count("SELECT count(*) FROM batches WHERE acked IS NULL"),
        }
