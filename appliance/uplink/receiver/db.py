"""The reference receiver's SQLite database: enrolled units, their batch chains, what they sent."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance.uplink.verify import (
    VerifiedBatch,
    VerifyError,
    check_chain,
    load_public_key,
    parse_envelope,
    sha256_hex,
    verify_signature,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS units (
  unit_id TEXT PRIMARY KEY, pubkey TEXT NOT NULL, enrolled REAL NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL DEFAULT 0, last_hash TEXT);
CREATE TABLE IF NOT EXISTS batches (
  unit_id TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, received REAL NOT NULL,
  created REAL NOT NULL, n_reads INTEGER NOT NULL, n_alerts INTEGER NOT NULL,
  n_events INTEGER NOT NULL, health TEXT NOT NULL, PRIMARY KEY (unit_id, seq));
CREATE TABLE IF NOT EXISTS reads (
  unit_id TEXT NOT NULL, read_id TEXT NOT NULL, seq INTEGER NOT NULL, plate TEXT NOT NULL,
  seen REAL, record TEXT NOT NULL, PRIMARY KEY (unit_id, read_id));
CREATE INDEX IF NOT EXISTS reads_plate ON reads (plate);
CREATE TABLE IF NOT EXISTS alerts (
  unit_id TEXT NOT NULL, alert_id TEXT NOT NULL, seq INTEGER NOT NULL, plate TEXT,
  category TEXT, priority INTEGER, record TEXT NOT NULL, PRIMARY KEY (unit_id, alert_id));
CREATE TABLE IF NOT EXISTS events (
  unit_id TEXT NOT NULL, seq INTEGER NOT NULL, idx INTEGER NOT NULL, section TEXT NOT NULL,
  record TEXT NOT NULL, PRIMARY KEY (unit_id, seq, section, idx));
"""


@dataclass
class IngestResult:
    unit_id: str
    seq: int
    result: str  # "stored" | "duplicate"
    reads: int = 0
    duplicate_records: int = 0


@dataclass
class Counters:
    """What /metrics reports."""

    batches: dict = field(default_factory=lambda: {"stored": 0, "duplicate": 0})
    rejected: dict = field(default_factory=dict)
    reads_stored: int = 0
    alerts_stored: int = 0
    duplicate_records: int = 0


class ReceiverDB:
    """One SQLite file (WAL). Not thread-safe: the aiohttp loop owns it."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = str(path)
        self.clock = clock
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)
        self.counters = Counters()
        self._keys: dict[str, Ed25519PublicKey] = {}

    def close(self) -> None:
        self.conn.close()

    # -- registry -------------------------------------------------------------------------------
    def enroll(self, unit_id: str, pubkey_pem: bytes | str) -> None:
        """Register (or re-key) a unit. Re-keying keeps its chain; revoking is separate."""
        pem = pubkey_pem.decode() if isinstance(pubkey_pem, bytes) else pubkey_pem
        load_public_key(pem)  # refuse junk before storing it
        if not unit_id or len(unit_id) > 64:
            raise ValueError("unit id must have 1-64 characters")
        self.conn.execute(
            "INSERT INTO units (unit_id, pubkey, enrolled) VALUES (?, ?, ?) "
            "ON CONFLICT(unit_id) DO UPDATE SET pubkey=excluded.pubkey, revoked=0",
            (unit_id, pem, self.clock()))
        self._keys.pop(unit_id, None)

    def revoke(self, unit_id: str) -> bool:
        cur = self.conn.execute("UPDATE units SET revoked=1 WHERE unit_id=?", (unit_id,))
        self._keys.pop(unit_id, None)
        return cur.rowcount == 1

    def units(self) -> list[dict]:
        rows = self.conn.execute(
            "SELECT unit_id, enrolled, revoked, last_seq, last_hash FROM units ORDER BY unit_id")
        cols = ("unit_id", "enrolled", "revoked", "last_seq", "last_hash")
        return [dict(zip(cols, r, strict=True)) for r in rows]

    def unit_state(self, unit_id: str) -> tuple[int, str | None] | None:
        row = self.conn.execute("SELECT last_seq, last_hash FROM units WHERE unit_id=?",
                                (unit_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def public_key(self, unit_id: str) -> Ed25519PublicKey:
        """The enrolled key of a unit; VerifyError unknown_unit/revoked_unit otherwise."""
        return self._key(unit_id)

    def _key(self, unit_id: str) -> Ed25519PublicKey:
        key = self._keys.get(unit_id)
        if key is None:
            row = self.conn.execute("SELECT pubkey, revoked FROM units WHERE unit_id=?",
                                    (unit_id,)).fetchone()
            if row is None:
                raise VerifyError("unknown_unit", f"unit {unit_id!r} is not enrolled", 403)
            if row[1]:
                raise VerifyError("revoked_unit", f"unit {unit_id!r} is revoked", 403)
            key = self._keys[unit_id] = load_public_key(row[0])
        return key

    # -- ingest ---------------------------------------------------------------------------------
    def ingest(self, raw: bytes, *, unit_id: str | None = None) -> IngestResult:
        """Verify and store one envelope; raises `VerifyError` (counted) when refused."""
        try:
            return self._ingest(raw, unit_id)
        except VerifyError as exc:
            self.counters.rejected[exc.code] = self.counters.rejected.get(exc.code, 0) + 1
            raise

    def _ingest(self, raw: bytes, unit_id: str | None) -> IngestResult:
        batch, batch_c, sig = parse_envelope(raw)
        dev = batch["device_id"]
        if unit_id is not None and dev != unit_id:
            raise VerifyError("device_mismatch", f"batch names {dev!r}, expected {unit_id!r}", 403)
        verify_signature(batch_c, sig, self._key(dev))
        vb = VerifiedBatch(batch=batch, raw=raw, hash=sha256_hex(raw))
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            last_seq, last_hash = self.unit_state(dev) or (0, None)
            stored = None
            if vb.seq <= last_seq:
                row = c.execute("SELECT hash FROM batches WHERE unit_id=? AND seq=?",
                                (dev, vb.seq)).fetchone()
                stored = row[0] if row else None
            if check_chain(vb, last_seq, last_hash, stored) == "duplicate":
                c.execute("ROLLBACK")
                self.counters.batches["duplicate"] += 1
                return IngestResult(dev, vb.seq, "duplicate")
            res = self._store(vb)
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise
        self.counters.batches["stored"] += 1
        self.counters.reads_stored += res.reads
        self.counters.alerts_stored += len(batch["alerts"])
        self.counters.duplicate_records += res.duplicate_records
        return res

    def _store(self, vb: VerifiedBatch) -> IngestResult:
        b, dev, seq, c = vb.batch, vb.device_id, vb.seq, self.conn
        n_events = len(b["events"]) + len(b["access_log"])
        c.execute("INSERT INTO batches VALUES (?,?,?,?,?,?,?,?,?)",
                  (dev, seq, vb.hash, self.clock(), b["created"], len(b["reads"]),
                   len(b["alerts"]), n_events, json.dumps(b["health"])))
        before = c.total_changes
        c.executemany("INSERT OR IGNORE INTO reads VALUES (?,?,?,?,?,?)",
                      [(dev, r["read_id"], seq, r["plate"], r.get("first_seen_wall"),
                        json.dumps(r)) for r in b["reads"]])
        stored_reads = c.total_changes - before
        c.executemany("INSERT OR IGNORE INTO alerts VALUES (?,?,?,?,?,?,?)",
                      [(dev, a["alert_id"], seq, a.get("plate"), a.get("category"),
                        a.get("priority"), json.dumps(a)) for a in b["alerts"]])
        c.executemany("INSERT INTO events VALUES (?,?,?,?,?)",
                      [(dev, seq, i, sec, json.dumps(e)) for sec in ("events", "access_log")
                       for i, e in enumerate(b[sec])])
        c.execute("UPDATE units SET last_seq=?, last_hash=? WHERE unit_id=?", (seq, vb.hash, dev))
        return IngestResult(dev, seq, "stored", reads=stored_reads,
                            duplicate_records=len(b["reads"]) - stored_reads)

    # -- queries --------------------------------------------------------------------------------
    def count(self, table: str, unit_id: str | None = None) -> int:
        if table not in ("reads", "alerts", "batches", "events"):
            raise ValueError(table)
        if unit_id is None:
            return self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608
        return self.conn.execute(f"SELECT COUNT(*) FROM {table} WHERE unit_id=?",  # noqa: S608
                                 (unit_id,)).fetchone()[0]

    def read_ids(self, unit_id: str) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT read_id FROM reads WHERE unit_id=?",
                                                (unit_id,))]

    def alerts(self, unit_id: str | None = None) -> list[dict]:
        if unit_id is None:
            rows = self.conn.execute("SELECT record FROM alerts")
        else:
            rows = self.conn.execute("SELECT record FROM alerts WHERE unit_id=?", (unit_id,))
        return [json.loads(r[0]) for r in rows]
