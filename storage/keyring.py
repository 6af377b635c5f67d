"""Data keys: one random key per retention period, hold keys and the audit key, KEK-wrapped.

`keys.live` counts the reads (and unacknowledged batches) sealed under each key, maintained in
the same transaction as every insert and delete, so finding a key to shred costs one indexed
lookup, never a scan of the reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from storage.crypto import DataKey
from storage.db import Database
from storage.exc import StoreError
from storage.keys import derive, new_data_key, unwrap, wrap

logger = logging.getLogger(__name__)

PERIOD, HOLD, AUDIT = "period", "hold", "audit"


class KeyRing:
    def __init__(self, database: Database, kek: bytes, clock: Callable[[], float], period_s: float):
        if period_s <= 0:
            raise ValueError("period_s must be positive")
        self._db = database
        self._wrapping = derive(kek, "wrap")
        self._clock = clock
        self.period_s = period_s
        self._cache: dict[int, DataKey] = {}
        self._period_ids: dict[int, int] = {}
        self.destroyed_since_checkpoint = False
        database.on_rollback.append(self.forget)

    def forget(self) -> None:
        """Drop cached keys (after a rollback the cache may name keys that were never stored)."""
        self._cache.clear()
        self._period_ids.clear()

    def period_of(self, t: float) -> int:
        return int(t // self.period_s)

    def _create(self, kind: str, period: int) -> DataKey:
        raw = new_data_key()
        cur = self._db.conn.execute(
            "INSERT INTO keys(kind, period, wrapped, live, created) VALUES (?, ?, ?, 0, ?)",
            (kind, period, wrap(self._wrapping, raw), self._clock()))
        key = DataKey(cur.lastrowid, period, raw)
        self._cache[key.key_id] = key
        logger.info("created %s data key %s (period %s)", kind, key.key_id, period)
        return key

    def get(self, key_id: int) -> DataKey:
        key = self._cache.get(key_id)
        if key is not None:
            return key
        row = self._db.conn.execute("SELECT period, wrapped FROM keys WHERE key_id=?",
                                    (key_id,)).fetchone()
        if row is None or row[1] is None:
            raise StoreError(f"data key {key_id} was destroyed (crypto-shredded) or never existed")
        key = DataKey(key_id, row[0], unwrap(self._wrapping, row[1]))
        self._cache[key_id] = key
        return key

    def _find(self, kind: str, period: int | None = None) -> int | None:
        sql = "SELECT key_id FROM keys WHERE kind=? AND destroyed IS NULL"
        args: tuple = (kind,)
        if period is not None:
            sql += " AND period=?"
            args += (period,)
        row = self._db.conn.execute(sql + " ORDER BY key_id DESC LIMIT 1", args).fetchone()
        return row[0] if row else None

    def current(self) -> DataKey:
        """The data key of the current period (created on first use; call inside a transaction)."""
        period = self.period_of(self._clock())
        key_id = self._period_ids.get(period)
        if key_id is None:
            key_id = self._find(PERIOD, period)
            if key_id is None:
                return self._remember(period, self._create(PERIOD, period))
            self._period_ids[period] = key_id
        return self.get(key_id)

    def _remember(self, period: int, key: DataKey) -> DataKey:
        self._period_ids[period] = key.key_id
        return key

    def hold(self) -> DataKey:
        """The key held reads are re-sealed under, outliving their period keys."""
        key_id = self._find(HOLD)
        return self.get(key_id) if key_id is not None else self._create(HOLD, -1)

    def audit(self) -> DataKey:
        """The access log's key: never shredded with read periods. Opening it checks the KEK."""
        key_id = self._find(AUDIT, 0)
        return self.get(key_id) if key_id is not None else self._create(AUDIT, 0)

    def adjust(self, key_id: int, delta: int) -> None:
        self._db.conn.execute("UPDATE keys SET live = live + ? WHERE key_id=?", (delta, key_id))

    def shreddable(self) -> list[tuple[int, str, int]]:
        """Keys with nothing sealed under them left: past periods and empty hold keys."""
        current = self.period_of(self._clock())
        return list(self._db.conn.execute(
            "SELECT key_id, kind, period FROM keys WHERE destroyed IS NULL AND live <= 0 AND "
            "((kind='period' AND period < ?) OR kind='hold')", (current,)))

    def destroy(self, key_id: int) -> None:
        """Crypto-shred: drop the wrapped key (secure_delete overwrites the freed bytes)."""
        self._db.conn.execute("UPDATE keys SET wrapped=NULL, destroyed=? WHERE key_id=?",
                              (self._clock(), key_id))
        self._cache.pop(key_id, None)
        self.destroyed_since_checkpoint = True
        self._period_ids = {p: k for p, k in self._period_ids.items() if k != key_id}

    def period_key_ids(self, since: float | None, until: float | None) -> list[int]:
        """Live keys whose reads may fall in [since, until] by storage time, plus hold keys."""
        lo = self.period_of(since) if since is not None else -(2**62)
        hi = self.period_of(until) if until is not None else 2**62
        return [r[0] for r in self._db.conn.execute(
            "SELECT key_id FROM keys WHERE destroyed IS NULL AND ((kind='period' AND period "
            "BETWEEN ? AND ?) OR kind='hold')", (lo, hi))]
