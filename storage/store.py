"""The store: the one object the daemon, the uplink and the console hold.

It is opened with a path (or connection) and key material by the caller and never reads config
itself. Every method that returns ALPR data takes an AccessContext and writes the access log in
the same transaction as it reads; ingest methods are durable when they return.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from inference.types import Read
from storage import access, report
from storage.auditlog import AuditLog, Verification
from storage.codec import alert_dict, alert_from_dict, dumps, loads, read_meta
from storage.crypto import normalise_plate
from storage.custody import Custody
from storage.db import Database, connect
from storage.exc import DuplicateError, NotFound, StoreClosedError
from storage.keyring import KeyRing
from storage.migrations import migrate
from storage.outbox import Outbox
from storage.plates import PlateColumn
from storage.ringbuffer import Policy, Ring
from storage.search import Searcher
from storage.types import AccessContext, Alert, OutboxRecord, StoredRead

logger = logging.getLogger(__name__)

ROW_OVERHEAD = 256  # bytes charged per read for its row, index entries and plate-page entry


class Store(Custody):
    """Encrypted ring-buffer store of reads, alerts, the access log and the uplink outbox."""

    def __init__(self, database: Database, kek: bytes, *, policy: Policy, period_s: float,
                 clock: Callable[[], float], signer: Ed25519PrivateKey | None, agency: str | None,
                 keep_images: bool):
        self._database = database
        self._clock = clock
        self.agency = agency
        self.keep_images = keep_images
        self.signer = signer
        self._keys = KeyRing(database, kek, clock, period_s)
        self._audit = AuditLog(database, self._keys, clock, signer)
        self._pages = PlateColumn(database, self._keys)
        self._ring = Ring(database, self._keys, self._audit, clock, policy, self._pages)
        self._outbox = Outbox(database, self._keys, self._audit, clock)
        self._search = Searcher(database, self._keys, self._pages)
        self._closed = False
        self.insert_failures = 0

    @classmethod
    def open(cls, path: str | os.PathLike | sqlite3.Connection, kek: bytes, *,
             budget_bytes: int, retention_after_ack_s: float, max_retention_s: float,
             period_s: float, clock: Callable[[], float] = time.time,
             signer: Ed25519PrivateKey | None = None, agency: str | None = None,
             keep_images: bool = True, synchronous: str = "FULL") -> Store:
        """Open (creating and migrating if needed) the store at `path` with the device KEK.

        `signer` (the device's Ed25519 key) signs access-log checkpoints; `agency` is the
        agency that owns the unit (exports to anyone else need an approved release request).
        Raises WrongKeyError when `kek` is not this store's, StoreCorruptError for a damaged file.
        """
        if budget_bytes <= 0:
            raise ValueError("budget_bytes must be positive")
        conn = connect(path, synchronous)
        database = Database(conn)
        try:
            conn.execute("PRAGMA secure_delete=ON")  # freed pages (shredded keys) are zeroed
            with database.reading(f"migrating {path}"):
                migrate(conn)
            policy = Policy(int(budget_bytes), retention_after_ack_s, max_retention_s)
            store = cls(database, kek, policy=policy, period_s=period_s, clock=clock,
                        signer=signer, agency=agency, keep_images=keep_images)
            with database.tx("opening the store"):
                store._keys.audit()  # unwraps (or creates) the audit key: a wrong KEK fails here
                store._audit.append("store_open", detail={"path": str(path)})
            if database.counter("plates_backfill"):
                logger.warning("indexing the plates of reads stored by an older version (once)")
                logger.warning("plate column: %d older reads indexed", store._pages.backfill())
        except BaseException:
            conn.close()
            raise
        return store

    def close(self) -> None:
        """Checkpoint the access log and close. Closing twice is safe."""
        if self._closed:
            return
        with self._database.tx("closing the store"):
            self._audit.checkpoint()
        with self._database.lock:
            self._closed = True
            try:
                self._database.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._database.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self, where: str):
        if self._closed:
            raise StoreClosedError("the store is closed")
        return self._database.tx(where)

    # -- ingest (system) --------------------------------------------------------------------
    def add_read(self, read: Read) -> None:
        """Store one read, sealed; durable (committed) on return. May evict to fit the budget."""
        self.add_reads([read])

    def add_reads(self, reads: Iterable[Read]) -> int:
        """Store several reads in one transaction (one fsync): all or none. Returns the count.

        This is the group-commit primitive: every read of the batch is durable when it returns
        (see storage.writer.GroupWriter for callers on several threads).
        """
        batch = [(read, dumps(read_meta(read))) for read in reads]
        if not batch:
            return 0
        try:
            with self._tx("storing reads"):
                self._insert_reads(batch)
                if self._ring.over_budget() > 0:
                    self._ring.evict()
        except sqlite3.IntegrityError:
            ids = ", ".join(r.read_id for r, _ in batch[:3])
            raise DuplicateError(f"read already stored (batch of {len(batch)}: {ids}); "
                                 "nothing from this call was stored") from None
        except Exception:
            self.insert_failures += 1
            raise
        self._after_shred()
        return len(batch)

    def _insert_reads(self, batch: list[tuple[Read, bytes]]) -> None:
        """Seal and insert a batch with one statement per table (call inside a transaction).

        Row ids are assigned here (after the AUTOINCREMENT high-water mark, under the write
        lock) so the reads go in one executemany and their plates into the plate column first.
        """
        conn = self._database.conn
        key, now = self._keys.current(), self._clock()
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='reads'").fetchone()
        rid = row[0] if row else 0
        rows, total = [], 0
        pages = self._pages.append(key, [(rid + i, read.first_seen_wall,
                                          normalise_plate(read.plate))
                                         for i, (read, _) in enumerate(batch, 1)])
        for (read, meta), page in zip(batch, pages, strict=True):
            rid += 1
            read_id = read.read_id
            sealed = key.seal(read_id, "meta", meta)
            crop = frame = None
            if self.keep_images and read.crop_jpeg:
                crop = key.seal(read_id, "crop", read.crop_jpeg)
            if self.keep_images and read.frame_jpeg:
                frame = key.seal(read_id, "frame", read.frame_jpeg)
            nbytes = len(sealed) + len(crop or b"") + len(frame or b"") + ROW_OVERHEAD
            total += nbytes
            rows.append((rid, read_id, key.key_id, read.first_seen_wall, now, nbytes,
                         key.plate_token(read.plate), sealed, crop, frame, page))
        conn.executemany(
            "INSERT INTO reads(rid, read_id, key_id, captured, stored, nbytes, plate_tok, meta, "
            "crop, frame, page) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
        self._keys.adjust(key.key_id, len(batch))
        self._database.bump("bytes", total)
        self._database.bump("reads", len(batch))

    def add_alert(self, alert: Alert) -> None:
        """Store a hotlist hit (sealed under its read's key); it goes out before anything else."""
        with self._tx("storing an alert"):
            row = self._database.conn.execute("SELECT rid, key_id FROM reads WHERE read_id=?",
                                              (alert.read_id,)).fetchone()
            if row is None:
                raise NotFound(f"alert {alert.alert_id}: read {alert.read_id} is not stored")
            rid, key_id = row
            key = self._keys.get(key_id)
            self._database.conn.execute(
                "INSERT INTO alerts(alert_id, rid, key_id, priority, created, sealed) "
                "VALUES (?,?,?,?,?,?)",
                (alert.alert_id, rid, key_id, alert.priority, alert.created_wall,
                 key.seal(alert.alert_id, "alert", dumps(alert_dict(alert)))))
            self._database.conn.execute("UPDATE reads SET hit=1 WHERE rid=?", (rid,))

    def log_event(self, kind: str, detail: dict, *, user: str | None = None,
                  organisation: str | None = None, ctx: AccessContext | None = None) -> int:
        """Record a security event (login, failed login, config change, tamper). Returns its seq."""
        with self._tx(f"logging {kind}"):
            return self._audit.append(kind, ctx=ctx, user=user, organisation=organisation,
                                      detail={**detail, "security_event": True})

    def record_access(self, ctx: AccessContext, action: str, *, terms: dict | None = None,
                      result_count: int | None = None) -> int:
        """Log an access the store does not serve itself (e.g. the console's live view)."""
        access.require(ctx)
        with self._tx(f"logging {action}"):
            return self._audit.append(action, ctx=ctx, terms=terms, result_count=result_count)

    # -- queries (each one is logged) -------------------------------------------------------
    def search_reads(self, ctx: AccessContext, *, plate: str | None = None,
                     pattern: str | None = None, since: float | None = None,
                     until: float | None = None, hits_only: bool = False,
                     limit: int = 100) -> list[StoredRead]:
        access.require(ctx)
        terms = {"plate": plate, "pattern": pattern, "since": since, "until": until,
                 "hits_only": hits_only, "limit": limit}
        with self._tx("searching reads"):
            found = self._search.search(plate=plate, pattern=pattern, since=since, until=until,
                                        hits_only=hits_only, limit=limit)
            self._audit.append("search", ctx=ctx, terms=terms, result_count=len(found))
        return found

    def get_read(self, ctx: AccessContext, read_id: str, with_images: bool = False) -> StoredRead:
        access.require(ctx)
        with self._tx("viewing a read"):
            found = self._search.get(read_id, with_images)
            self._audit.append("view", ctx=ctx, terms={"read_id": read_id, "images": with_images},
                               result_count=1 if found else 0)
        if found is None:
            raise NotFound(f"read {read_id} is not stored (never stored, evicted or purged)")
        return found

    def alerts(self, ctx: AccessContext, limit: int = 100) -> list[Alert]:
        access.require(ctx)
        with self._tx("listing alerts"):
            rows = list(self._database.conn.execute(
                "SELECT alert_id, key_id, sealed FROM alerts ORDER BY created DESC LIMIT ?",
                (limit,)))
            found = [alert_from_dict(loads(self._keys.get(k).open(a, "alert", s)))
                     for a, k, s in rows]
            self._audit.append("alerts", ctx=ctx, terms={"limit": limit}, result_count=len(found))
        return found

    def access_log(self, ctx: AccessContext, since: float | None = None,
                   until: float | None = None) -> list[dict[str, Any]]:
        access.require(ctx)
        with self._tx("reading the access log"):
            entries = self._audit.entries(since, until)
            self._audit.append("audit_view", ctx=ctx, terms={"since": since, "until": until},
                               result_count=len(entries))
        return entries

    def audit_report(self, ctx: AccessContext, out_dir: str | os.PathLike | None = None, *,
                     since: float | None = None, until: float | None = None) -> dict[str, Any]:
        """Per-user/per-purpose summary of the access log (and CSV/JSON files in `out_dir`)."""
        access.require(ctx)
        with self._tx("writing an audit report"):
            summary = report.summarise(self._audit.entries(since, until))
            self._audit.append("audit_report", ctx=ctx, terms={"since": since, "until": until},
                               result_count=summary["entries"])
        if out_dir is not None:
            report.write_report(summary, out_dir)
        return summary

    def verify_access_log(self, public_key: Ed25519PublicKey | None = None
                          ) -> tuple[bool, int | None]:
        result = self.verify_access_log_detail(public_key)
        return result.ok, result.first_bad_seq

    def verify_access_log_detail(self, public_key: Ed25519PublicKey | None = None) -> Verification:
        with self._database.reading("verifying the access log"):
            return self._audit.verify(public_key)

    # -- outbox -----------------------------------------------------------------------------
    def outbox_pending(self, limit: int) -> list[OutboxRecord]:
        with self._database.reading("listing the outbox"):
            return self._outbox.pending(limit)

    def save_batch(self, seq: int, body: bytes, record_keys: Iterable) -> None:
        with self._tx(f"saving batch {seq}"):
            self._outbox.save(seq, body, record_keys)

    def batches_after(self, seq: int, limit: int = 10) -> list[tuple[int, bytes]]:
        with self._database.reading("listing batches"):
            return self._outbox.after(seq, limit)

    def ack_batch(self, seq: int) -> None:
        with self._tx(f"acknowledging batch {seq}"):
            if self._outbox.ack(seq):
                self._ring.shred()
        self._after_shred()

    def last_batch(self) -> tuple[int, str] | None:
        with self._database.reading("reading the last batch"):
            return self._outbox.last_batch()

    def last_acked_seq(self) -> int:
        with self._database.reading("reading the last ack"):
            return self._outbox.last_acked_seq()

    # -- maintenance ------------------------------------------------------------------------
    def enforce_budget(self) -> dict[str, int]:
        with self._tx("enforcing the budget"):
            counts = self._ring.evict()
        self._after_shred()
        return counts

    def prune_access_log(self, keep_s: float) -> dict[str, Any] | None:
        """Access-log retention (see AuditLog.prune); keep_s <= 0 keeps everything."""
        if keep_s <= 0:
            return None
        with self._tx("pruning the access log"):
            return self._audit.prune(keep_s)

    def purge_expired(self) -> dict[int, dict[str, int]]:
        with self._tx("purging expired reads"):
            purged = self._ring.purge_expired()
        self._after_shred()
        return purged

    def _after_shred(self) -> None:
        """Push shredded keys out of the WAL too, so no old page still holds them."""
        with self._database.lock:
            if self._keys.destroyed_since_checkpoint:
                self._database.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._keys.destroyed_since_checkpoint = False

    def stats(self) -> dict[str, Any]:
        with self._database.reading("reading stats"):
            db = self._database
            keys = dict(db.conn.execute(
                "SELECT kind, count(*) FROM keys WHERE destroyed IS NULL GROUP BY kind"))
            return {
                "bytes": db.counter("bytes"), "budget_bytes": self._ring.policy.budget_bytes,
                "reads": db.counter("reads"),
                "held_reads": db.conn.execute(
                    "SELECT count(*) FROM reads WHERE state=2").fetchone()[0],
                "evicted": {n: db.counter(f"evicted_{n}")
                            for n in ("expired", "uplinked", "unsent")},
                "purged": db.counter("purged"), "backlog": self._outbox.backlog(),
                "live_keys": keys, "shredded_keys": db.conn.execute(
                    "SELECT count(*) FROM keys WHERE destroyed IS NOT NULL").fetchone()[0],
                "access_log_entries": db.conn.execute(
                    "SELECT max(seq) FROM access_log").fetchone()[0] or 0,
                "insert_failures": self.insert_failures,
                "file_bytes": _file_bytes(db.conn),
            }


def _file_bytes(conn: sqlite3.Connection) -> int:
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    if not path:
        return 0
    return sum(Path(p).stat().st_size for p in (path, path + "-wal") if Path(p).exists())
