"""Access-log retention (pruned only when old, acknowledged and anchored) and alert retention."""

from __future__ import annotations

import sqlite3

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from store_helpers import AUDITOR, DAY, INVESTIGATOR, Clock, make_read, open_store

from storage.types import Alert

KEEP = 10 * DAY


@pytest.fixture
def logged(tmp_path):
    """A signed store with 230 access-log entries (checkpoints at 100 and 200)."""
    key, clock = Ed25519PrivateKey.generate(), Clock()
    store = open_store(tmp_path / "s.db", signer=key, clock=clock, synchronous="NORMAL")
    for i in range(229):
        store.log_event("login", {"n": i}, user="u")
    yield store, clock, key
    store.close()


def _ack_everything(store, seq: int) -> None:
    records = store.outbox_pending(10_000)
    store.save_batch(seq, b"batch", records)
    store.ack_batch(seq)


def test_prune_needs_age_and_the_servers_ack_and_keeps_a_signed_anchor(logged):
    store, clock, key = logged
    clock.advance(KEEP + 1)
    assert store.prune_access_log(KEEP) is None  # nothing acknowledged by the server yet
    clock.advance(-(KEEP + 1))
    _ack_everything(store, 1)
    assert store.prune_access_log(KEEP) is None  # acknowledged, but not old enough
    assert store.prune_access_log(0) is None  # 0 keeps the log forever
    clock.advance(KEEP + 1)
    done = store.prune_access_log(KEEP)
    assert done["through_seq"] == 200 and done["entries"] == 200
    entries = store.access_log(AUDITOR)
    assert entries[0]["seq"] == 201 and entries[-1]["action"] == "audit_pruned"
    assert store.verify_access_log(key.public_key()) == (True, None)
    assert store.audit_report(AUDITOR)["entries"] > 0
    conn = store._database.conn
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM access_log WHERE seq = 201")
    assert store.prune_access_log(KEEP) is None  # no newer checkpoint covers acked entries


def test_prune_stops_at_entries_the_server_has_not_acknowledged(logged):
    store, clock, _ = logged
    _ack_everything(store, 1)
    for i in range(100):  # entries 230+ reach a checkpoint at 300, but are not acknowledged
        store.log_event("login", {"n": i}, user="u")
    clock.advance(KEEP + 1)
    assert store.prune_access_log(KEEP)["through_seq"] == 200


@pytest.mark.parametrize("tamper, reason", [
    # more entries deleted than the prune said
    (["DELETE FROM access_log WHERE seq <= 320"], "entry 301 is missing"),
    # ... with the counter moved to match: no signed checkpoint anchors 320
    (["UPDATE counters SET value = 320 WHERE name = 'audit_pruned_through'",
      "DELETE FROM access_log WHERE seq <= 320"], "anchoring the rest is missing"),
    # the anchor checkpoint removed
    (["DELETE FROM audit_checkpoints WHERE seq = 300"], "anchoring the rest is missing"),
    # pretending nothing was ever pruned
    (["UPDATE counters SET value = 0 WHERE name = 'audit_pruned_through'"],
     "entry 1 is missing"),
    # re-anchored on the later checkpoint 400: the prune record (seq 331) went with the rest
    (["UPDATE counters SET value = 400 WHERE name = 'audit_pruned_through'",
      "DELETE FROM access_log WHERE seq <= 400",
      "DELETE FROM audit_checkpoints WHERE seq < 400"], "newest prune record names None"),
])
def test_tampering_after_a_prune_is_found(logged, tamper, reason):
    store, clock, key = logged
    for i in range(100):
        store.log_event("login", {"n": i}, user="u")
    _ack_everything(store, 1)
    clock.advance(KEEP + 1)
    assert store.prune_access_log(KEEP)["through_seq"] == 300
    for i in range(100):  # a checkpoint at 400 after the prune record
        store.log_event("login", {"n": i}, user="u")
    assert store.verify_access_log(key.public_key()) == (True, None)
    conn = store._database.conn
    conn.execute("DROP TRIGGER access_log_no_delete")
    for sql in tamper:
        conn.execute(sql)
    result = store.verify_access_log_detail(key.public_key())
    assert not result.ok and reason in result.reason, result


def _alert(read, i=0) -> Alert:
    return Alert(f"a{i}-{read.read_id[:6]}", read.read_id, read.plate, read.plate, read.plate,
                 "stolen-vehicle", "v1", 1, 1_700_000_000.0)


def test_alerts_follow_their_reads_retention(tmp_path):
    clock = Clock()
    store = open_store(tmp_path / "s.db", clock=clock)
    gone, held = make_read("1AAA111"), make_read("2BBB222")
    store.add_reads([gone, held])
    store.add_alert(_alert(gone))
    store.add_alert(_alert(held))
    store.place_hold(INVESTIGATOR, [held.read_id], reason="evidence")
    clock.advance(31 * DAY)
    purged = store.purge_expired()
    assert [a.read_id for a in store.alerts(AUDITOR)] == [held.read_id]
    assert sum(p["alerts_unacked"] for p in purged.values()) == 1
    record = [e for e in store.access_log(AUDITOR) if e["action"] == "purge"][-1]
    assert record["detail"]["alerts_unacked"] == 1 and record["detail"]["security_event"]
    store.close()


def test_evicting_a_read_with_an_unsent_alert_is_a_security_event(tmp_path):
    store = open_store(tmp_path / "s.db", budget=30_000)
    first = make_read("3CCC333", crop_bytes=8000)
    store.add_read(first)
    store.add_alert(_alert(first))
    for i in range(4):
        store.add_read(make_read(f"4DDD{i:03d}", crop_bytes=8000))
    assert store.alerts(AUDITOR) == []
    event = [e for e in store.access_log(AUDITOR) if e["action"] == "evict_unsent"][0]
    assert event["detail"]["alerts_unacked"] == 1 and first.read_id in event["detail"]["read_ids"]
    store.close()
