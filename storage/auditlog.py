"""The access log: append-only, hash-chained, sealed at rest, with signed checkpoints.

Each entry's hash is SHA-256(previous hash || RFC 8785 canonical JSON of the entry, which
includes its seq). Editing, deleting, inserting or reordering entries breaks the chain; a
checkpoint signed by the device's Ed25519 key pins (seq, hash) so a rewritten tail is caught too.
SQLite triggers refuse UPDATE/DELETE as a first line; the chain is what proves it.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from storage.codec import loads
from storage.db import Database
from storage.exc import WrongKeyError
from storage.keyring import KeyRing
from storage.types import AccessContext

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
CHECKPOINT_EVERY = 100
PRUNED = "audit_pruned"


def chain_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + rfc8785.dumps(entry)).hexdigest()


def checkpoint_message(seq: int, hash_hex: str, ts: float) -> bytes:
    return f"alpr-audit-checkpoint/v1|{seq}|{hash_hex}|{ts!r}".encode()


@dataclass(frozen=True)
class Verification:
    ok: bool
    first_bad_seq: int | None
    reason: str
    entries: int


class AuditLog:
    def __init__(self, database: Database, keys: KeyRing, clock: Callable[[], float],
                 signer: Ed25519PrivateKey | None = None, checkpoint_every: int = CHECKPOINT_EVERY):
        self._db = database
        self._keys = keys
        self._clock = clock
        self._signer = signer
        self._every = checkpoint_every

    def _last(self) -> tuple[int, str]:
        """The chain head, read inside the caller's transaction: other processes (the CLI)
        append to the same log, so it is never cached."""
        row = self._db.conn.execute(
            "SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def append(self, action: str, *, ctx: AccessContext | None = None, user: str | None = None,
               organisation: str | None = None, terms: dict | None = None,
               result_count: int | None = None, detail: dict | None = None) -> int:
        """Append one entry (call inside a transaction). Returns its seq."""
        now = self._clock()
        seq, prev = self._last()
        seq += 1
        entry = {
            "seq": seq, "ts": now,
            "utc": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
            "action": action,
            "user": ctx.user if ctx else (user or "system"),
            "organisation": ctx.organisation if ctx else (organisation or ""),
            "role": ctx.role if ctx else "system",
            "purpose": ctx.purpose if ctx else None,
            "case_number": ctx.case_number if ctx else None,
            "source": ctx.source if ctx else "unit",
            "address": ctx.address if ctx else None,
            "terms": terms or {},
            "result_count": result_count,
            "detail": detail or {},
        }
        digest = chain_hash(prev, entry)
        key = self._keys.audit()
        self._db.conn.execute(
            "INSERT INTO access_log(seq, ts, key_id, sealed, prev_hash, hash) VALUES (?,?,?,?,?,?)",
            (seq, now, key.key_id, key.seal(str(seq), "audit", rfc8785.dumps(entry)), prev, digest))
        if self._signer is not None and seq % self._every == 0:
            self.checkpoint()
        return seq

    def checkpoint(self) -> int | None:
        """Sign the current chain head with the device key (call inside a transaction)."""
        if self._signer is None:
            return None
        seq, digest = self._last()
        if seq == 0:
            return None
        ts = self._clock()
        pub = self._signer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._db.conn.execute(
            "INSERT OR REPLACE INTO audit_checkpoints(seq, hash, ts, public_key, signature) "
            "VALUES (?,?,?,?,?)",
            (seq, digest, ts, pub, self._signer.sign(checkpoint_message(seq, digest, ts))))
        return seq

    def entry(self, row: sqlite3.Row | tuple) -> dict[str, Any]:
        seq, key_id, sealed = row[0], row[1], row[2]
        return loads(self._keys.get(key_id).open(str(seq), "audit", sealed))

    def entries(self, since: float | None = None, until: float | None = None,
                after_seq: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT seq, key_id, sealed FROM access_log WHERE seq > ?"
        args: list = [after_seq]
        if since is not None:
            sql += " AND ts >= ?"
            args.append(since)
        if until is not None:
            sql += " AND ts <= ?"
            args.append(until)
        sql += " ORDER BY seq" + (" LIMIT ?" if limit else "")
        if limit:
            args.append(limit)
        return [self.entry(r) for r in self._db.conn.execute(sql, args)]

    def verify(self, public_key: Ed25519PublicKey | None = None) -> Verification:
        """Walk the whole chain and every checkpoint; report the first entry that is wrong.

        After retention pruning the walk starts at the signed checkpoint the prune kept as its
        anchor, and the newest `audit_pruned` entry must name exactly that seq.
        """
        pruned = self._db.counter("audit_pruned_through")
        prev, expected, count, hashes = GENESIS, 1, 0, {}
        if pruned:
            row = self._db.conn.execute("SELECT hash FROM audit_checkpoints WHERE seq=?",
                                        (pruned,)).fetchone()
            if row is None:
                return Verification(False, pruned + 1, f"entries up to {pruned} were pruned but "
                                    "the signed checkpoint anchoring the rest is missing", 0)
            prev, expected, hashes[pruned] = row[0], pruned + 1, row[0]
        last_prune = None
        rows = self._db.conn.execute(
            "SELECT seq, key_id, sealed, prev_hash, hash FROM access_log ORDER BY seq")
        for seq, key_id, sealed, prev_hash, digest in rows:
            count += 1
            if seq != expected:
                return Verification(False, expected, f"entry {expected} is missing", count)
            try:
                entry = self.entry((seq, key_id, sealed))
            except WrongKeyError:
                return Verification(False, seq, f"entry {seq} was altered (does not decrypt)",
                                    count)
            if entry.get("seq") != seq or prev_hash != prev or chain_hash(prev, entry) != digest:
                return Verification(False, seq, f"entry {seq} breaks the hash chain", count)
            if entry["action"] == PRUNED:
                last_prune = entry["detail"].get("through_seq")
            hashes[seq] = digest
            prev, expected = digest, seq + 1
        if pruned and last_prune != pruned:
            return Verification(False, pruned + 1, f"entries up to {pruned} are gone but the "
                                f"newest prune record names {last_prune}", count)
        return self._verify_checkpoints(hashes, expected - 1, public_key, count)

    def prune(self, keep_s: float) -> dict[str, Any] | None:
        """Retention: delete entries older than `keep_s` that the agency server acknowledged,
        up to the newest signed checkpoint that allows (kept as the chain's anchor). Call inside
        a transaction. Returns what was pruned, or None."""
        conn, done = self._db.conn, self._db.counter("audit_pruned_through")
        bounds = [
            conn.execute("SELECT seq FROM access_log WHERE seq > ? AND ts >= ? ORDER BY seq "
                         "LIMIT 1", (done, self._clock() - keep_s)).fetchone(),
            conn.execute("SELECT min(seq) FROM access_log WHERE batch_seq IS NULL").fetchone(),
            conn.execute("SELECT min(seq) FROM access_log WHERE batch_seq IN "
                         "(SELECT seq FROM batches WHERE acked IS NULL)").fetchone()]
        limit = min((b[0] for b in bounds if b and b[0] is not None), default=2**62) - 1
        row = conn.execute("SELECT max(seq) FROM audit_checkpoints WHERE seq > ? AND seq <= ?",
                           (done, limit)).fetchone()
        if row[0] is None:
            return None
        through = row[0]
        anchor = conn.execute("SELECT hash FROM audit_checkpoints WHERE seq=?",
                              (through,)).fetchone()[0]
        self._db.bump("audit_pruned_through", through - done)
        entries = conn.execute("DELETE FROM access_log WHERE seq <= ?", (through,)).rowcount
        conn.execute("DELETE FROM audit_checkpoints WHERE seq < ?", (through,))
        detail = {"through_seq": through, "entries": entries, "anchor_hash": anchor,
                  "retention_days": keep_s / 86400, "security_event": True}
        self.append(PRUNED, detail=detail)
        logger.info("access log: %d entries up to %d pruned (retention)", entries, through)
        return detail

    def _verify_checkpoints(self, hashes: dict[int, str], last: int,
                            public_key: Ed25519PublicKey | None, count: int) -> Verification:
        rows = self._db.conn.execute(
            "SELECT seq, hash, ts, public_key, signature FROM audit_checkpoints ORDER BY seq")
        for seq, digest, ts, pub, sig in rows:
            if seq > last:
                return Verification(False, last + 1, f"entries after {last} were removed "
                                    f"(checkpoint {seq} names them)", count)
            if hashes.get(seq) != digest:
                return Verification(False, seq, f"entry {seq} differs from its signed checkpoint",
                                    count)
            key = public_key or Ed25519PublicKey.from_public_bytes(pub)
            try:
                key.verify(sig, checkpoint_message(seq, digest, ts))
            except InvalidSignature:
                return Verification(False, seq, f"checkpoint at entry {seq} has a bad signature",
                                    count)
        return Verification(True, None, "ok", count)

    def unsent(self, limit: int) -> list[tuple[int, dict[str, Any]]]:
        rows = self._db.conn.execute(
            "SELECT seq, key_id, sealed FROM access_log WHERE batch_seq IS NULL ORDER BY seq "
            "LIMIT ?", (limit,))
        return [(r[0], self.entry(r)) for r in rows]
