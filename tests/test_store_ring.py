"""The ring buffer: capacity invariant, eviction order (model-checked), indexed eviction."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_helpers import AUDITOR, DAY, Clock, make_read, open_store

from storage.codec import dumps, read_meta
from storage.crypto import NONCE_BYTES
from storage.store import ROW_OVERHEAD

TAG = 16
AFTER_ACK, MAX_RET = 2 * DAY, 5 * DAY


def sealed_size(read) -> int:
    size = len(dumps(read_meta(read))) + NONCE_BYTES + TAG + ROW_OVERHEAD
    return size + (len(read.crop_jpeg) + NONCE_BYTES + TAG if read.crop_jpeg else 0)


class Model:
    """What the store should hold: the eviction rules written as plainly as possible."""

    def __init__(self, budget: int):
        self.budget = budget
        self.reads: dict[str, dict] = {}  # insertion ordered

    def add(self, read_id: str, size: int, now: float) -> list[str]:
        self.reads[read_id] = {"size": size, "stored": now, "acked": None, "held": False}
        evicted = []
        while sum(r["size"] for r in self.reads.values()) > self.budget:
            victim = self.victim(now)
            if victim is None:
                break
            del self.reads[victim]
            evicted.append(victim)
        return evicted

    def victim(self, now: float) -> str | None:
        free = [(i, k, r) for i, (k, r) in enumerate(self.reads.items()) if not r["held"]]
        acked_expired = sorted((r["acked"], i, k) for i, k, r in free
                               if r["acked"] is not None and r["acked"] <= now - AFTER_ACK)
        for candidates in (
            acked_expired,
            sorted((r["stored"], i, k) for i, k, r in free
                   if r["acked"] is not None and r["stored"] <= now - MAX_RET),
            sorted((r["stored"], i, k) for i, k, r in free
                   if r["acked"] is None and r["stored"] <= now - MAX_RET),
            [(i, i, k) for i, k, r in free if r["acked"] is not None],
            [(i, i, k) for i, k, r in free if r["acked"] is None],
        ):
            if candidates:
                return candidates[0][2]
        return None


adds = st.tuples(st.just("add"), st.integers(200, 6000))
ops = st.lists(st.one_of(
    adds, adds, adds,
    st.tuples(st.just("ack"), st.just(0)),
    st.tuples(st.just("hold"), st.integers(0, 50)),
    st.tuples(st.just("wait"), st.sampled_from([0.1 * DAY, DAY, 3 * DAY])),
), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops, budget=st.integers(5_000, 20_000))
def test_capacity_invariant_and_eviction_order(ops, budget):
    clock = Clock()
    model = Model(budget)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "s.db", clock=clock, budget=budget, after_ack=AFTER_ACK,
                           max_ret=MAX_RET, synchronous="NORMAL")
        seq = 0
        for op, arg in ops:
            if op == "add":
                read = make_read("7ABC123", t=clock(), crop_bytes=arg)
                store.add_read(read)
                model.add(read.read_id, sealed_size(read), clock())
            elif op == "ack":
                pending = [p for p in store.outbox_pending(10_000) if p.kind == "read"]
                if pending:
                    seq += 1
                    store.save_batch(seq, b"b%d" % seq, pending)
                    store.ack_batch(seq)
                    for p in pending:
                        model.reads[p.record_id]["acked"] = clock()
            elif op == "hold" and model.reads:
                read_id = list(model.reads)[arg % len(model.reads)]
                ctx = AUDITOR.__class__(**{**AUDITOR.__dict__, "case_number": "C1"})
                store.place_hold(ctx, [read_id], reason="r")
                model.reads[read_id]["held"] = True
            elif op == "wait":
                clock.advance(arg)
            stats = store.stats()
            conn = store._database.conn  # test-only look at the rows themselves
            rows = dict(conn.execute("SELECT read_id, nbytes FROM reads"))
            assert stats["bytes"] == sum(rows.values())  # incremental accounting is exact
            assert stats["bytes"] <= budget or all(r["held"] for r in model.reads.values())
            assert set(rows) == set(model.reads)  # same survivors as the model: same order
        store.close()


def test_eviction_of_unsent_reads_is_a_security_event(tmp_path):
    clock = Clock()
    store = open_store(tmp_path / "s.db", clock=clock, budget=20_000)
    reads = [make_read(t=clock(), crop_bytes=3000) for _ in range(12)]
    for r in reads:
        store.add_read(r)
    stats = store.stats()
    assert stats["evicted"]["unsent"] > 0 and stats["bytes"] <= 20_000
    events = [e for e in store.access_log(AUDITOR) if e["action"] == "evict_unsent"]
    evicted = [i for e in events for i in e["detail"]["read_ids"]]
    assert evicted == [r.read_id for r in reads[:len(evicted)]]  # oldest first
    assert all(e["detail"]["security_event"] for e in events)
    assert sum(e["detail"]["count"] for e in events) == stats["evicted"]["unsent"]
    store.close()


def test_eviction_queries_use_indexes(tmp_path):
    store = open_store(tmp_path / "s.db")
    conn = store._database.conn
    for sql in ("SELECT rid FROM reads WHERE state=1 AND acked <= 5 ORDER BY acked LIMIT 32",
                "SELECT rid FROM reads WHERE state=0 AND stored <= 5 ORDER BY stored LIMIT 32",
                "SELECT rid FROM reads WHERE state=0 ORDER BY rid LIMIT 32",
                "SELECT page_id FROM plate_pages WHERE key_id=5 ORDER BY page_id DESC LIMIT 1",
                "SELECT rid FROM reads WHERE hit = 1 AND captured >= 5"):
        plan = " ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "INDEX" in plan and "TEMP B-TREE" not in plan, (sql, plan)
    store.close()
