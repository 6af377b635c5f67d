"""Byte-budgeted ring buffer and retention: eviction, purging and crypto-shredding of data keys.

Every step is an indexed range scan plus per-row deletes, with the byte total kept in the
`counters` table in the same transaction, so the cost of making room does not grow with the
number of reads stored. Held reads (state 2) are never selected.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from storage.auditlog import AuditLog
from storage.db import Database
from storage.keyring import KeyRing
from storage.plates import PlateColumn

logger = logging.getLogger(__name__)

UNSENT, UPLINKED, HELD = 0, 1, 2
CHUNK = 32
_SELECT = "SELECT rid, key_id, nbytes, read_id, state, page FROM reads WHERE "


@dataclass(frozen=True)
class Policy:
    budget_bytes: int
    retention_after_ack_s: float
    max_retention_s: float


class Ring:
    def __init__(self, database: Database, keys: KeyRing, audit: AuditLog,
                 clock: Callable[[], float], policy: Policy, pages: PlateColumn):
        self._db = database
        self._keys = keys
        self._pages = pages
        self._audit = audit
        self._clock = clock
        self.policy = policy

    # -- deleting -------------------------------------------------------------------------
    def delete(self, rows: list[tuple]) -> dict[int, int]:
        """Delete reads (with their plate-page entries and alerts); returns reads per key id."""
        conn = self._db.conn
        per_key: dict[int, int] = defaultdict(int)
        by_page: dict[int, set[int]] = defaultdict(set)
        freed = 0
        for rid, key_id, nbytes, _read_id, _state, page in rows:
            conn.execute("DELETE FROM alerts WHERE rid=?", (rid,))
            conn.execute("DELETE FROM reads WHERE rid=?", (rid,))
            per_key[key_id] += 1
            freed += nbytes
            if page is not None:
                by_page[page].add(rid)
        self._pages.remove(by_page)
        for key_id, n in per_key.items():
            self._keys.adjust(key_id, -n)
        self._db.bump("bytes", -freed)
        self._db.bump("reads", -len(rows))
        return per_key

    def _unacked_alerts(self, rows: list[tuple]) -> dict[int, int]:
        """Alerts of these reads the server never acknowledged, per key id (they are deleted
        with their read: alerts are ALPR data under the same retention)."""
        marks = ",".join("?" * len(rows))
        return dict(self._db.conn.execute(
            f"SELECT key_id, count(*) FROM alerts WHERE acked IS NULL AND rid IN ({marks}) "  # noqa: S608
            "GROUP BY key_id", [r[0] for r in rows]))

    def _expired(self, limit: int) -> list[tuple]:
        now = self._clock()
        conn = self._db.conn
        rows = list(conn.execute(
            _SELECT + "state=1 AND acked <= ? ORDER BY acked LIMIT ?",
            (now - self.policy.retention_after_ack_s, limit)))
        for state in (UPLINKED, UNSENT):
            if len(rows) >= limit:
                break
            rows += conn.execute(
                _SELECT + "state=? AND stored <= ? ORDER BY stored LIMIT ?",
                (state, now - self.policy.max_retention_s, limit))
        unique = {r[0]: r for r in rows}
        return list(unique.values())[:limit]

    def _oldest(self, state: int, limit: int) -> list[tuple]:
        return list(self._db.conn.execute(
            _SELECT + "state=? ORDER BY rid LIMIT ?", (state, limit)))

    # -- the budget -----------------------------------------------------------------------
    def over_budget(self) -> int:
        return self._db.counter("bytes") - self.policy.budget_bytes

    def evict(self) -> dict[str, int]:
        """Make the store fit its budget (call inside a transaction). Returns counts per class."""
        counts = {"expired": 0, "uplinked": 0, "unsent": 0, "alerts_unacked": 0}
        unsent_ids: list[str] = []
        stages: list[tuple[str, Callable[[int], list[tuple]]]] = [
            ("expired", self._expired),
            ("uplinked", lambda n: self._oldest(UPLINKED, n)),
            ("unsent", lambda n: self._oldest(UNSENT, n)),
        ]
        for name, select in stages:
            while (excess := self.over_budget()) > 0:
                victims = self._pick(select(CHUNK), excess)
                if not victims:
                    break
                counts["alerts_unacked"] += sum(self._unacked_alerts(victims).values())
                self.delete(victims)
                counts[name] += len(victims)
                if name == "unsent":
                    unsent_ids += [v[3] for v in victims]
        self._record_eviction(counts, unsent_ids)
        return counts

    @staticmethod
    def _pick(rows: list[tuple], excess: int) -> list[tuple]:
        """The oldest rows of `rows` whose bytes cover `excess` (rows are in eviction order)."""
        out, freed = [], 0
        for row in rows:
            if freed >= excess:
                break
            out.append(row)
            freed += row[2]
        return out

    def _record_eviction(self, counts: dict[str, int], unsent_ids: list[str]) -> None:
        lost_alerts = counts.pop("alerts_unacked")
        for name, n in counts.items():
            if n:
                self._db.bump(f"evicted_{name}", n)
        if unsent_ids or lost_alerts:
            logger.warning("store over budget: evicted %d reads and %d alerts the server never "
                           "acknowledged", len(unsent_ids), lost_alerts)
            self._audit.append("evict_unsent", detail={
                "count": len(unsent_ids), "read_ids": unsent_ids, "alerts_unacked": lost_alerts,
                "budget_bytes": self.policy.budget_bytes, "security_event": True})
        elif counts["expired"] or counts["uplinked"]:
            self._audit.append("evict", detail={"expired": counts["expired"],
                                                "uplinked": counts["uplinked"]})
        if any(counts.values()):
            self.shred()

    # -- retention ------------------------------------------------------------------------
    def purge_expired(self) -> dict[int, dict[str, int]]:
        """Delete every expired, unheld read; one purge record per period (inside a transaction)."""
        per_period: dict[int, dict[str, int]] = defaultdict(
            lambda: {"reads": 0, "unsent": 0, "alerts_unacked": 0})
        periods = dict(self._db.conn.execute("SELECT key_id, period FROM keys"))
        while rows := self._expired(500):
            for key_id, lost in self._unacked_alerts(rows).items():
                per_period[periods.get(key_id, -1)]["alerts_unacked"] += lost
            for key_id, n in self.delete(rows).items():
                per_period[periods.get(key_id, -1)]["reads"] += n
            for row in rows:
                if row[4] == UNSENT:
                    per_period[periods.get(row[1], -1)]["unsent"] += 1
        total = 0
        for period, counts in sorted(per_period.items()):
            total += counts["reads"]
            self._audit.append("purge", result_count=counts["reads"], detail={
                "period": period, "period_start": period * self._keys.period_s,
                "reads": counts["reads"], "unsent": counts["unsent"],
                "alerts_unacked": counts["alerts_unacked"],
                "security_event": counts["unsent"] + counts["alerts_unacked"] > 0})
        if total:
            self._db.bump("purged", total)
        self._purge_batches()
        self.shred()
        return dict(per_period)

    def _purge_batches(self) -> None:
        """Unacknowledged batches older than the maximum retention are dropped as well."""
        cutoff = self._clock() - self.policy.max_retention_s
        rows = list(self._db.conn.execute(
            "SELECT seq, key_id FROM batches WHERE body IS NOT NULL AND created <= ?", (cutoff,)))
        for seq, key_id in rows:
            self._db.conn.execute("UPDATE batches SET body=NULL WHERE seq=?", (seq,))
            self._keys.adjust(key_id, -1)
        if rows:
            self._audit.append("purge_batches", detail={"batches": [r[0] for r in rows],
                                                        "security_event": True})

    def shred(self) -> list[int]:
        """Destroy data keys with nothing left under them; each destruction is logged."""
        destroyed = []
        for key_id, kind, period in self._keys.shreddable():
            self._pages.drop_key(key_id)
            self._keys.destroy(key_id)
            self._audit.append("key_destroyed", detail={"key_id": key_id, "kind": kind,
                                                        "period": period})
            destroyed.append(key_id)
        return destroyed
