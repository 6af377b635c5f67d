"""Core store behaviour: sealed round trips, search, access context, outbox, durability basics."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest
from store_helpers import AUDITOR, INVESTIGATOR, Clock, make_read, open_store

from storage.exc import AccessDenied, DuplicateError, NotFound, WrongKeyError
from storage.types import AccessContext, Alert


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "store.db")
    yield s
    s.close()


def test_read_round_trip_with_images(store):
    read = make_read(frame_bytes=5000)
    store.add_read(read)
    got = store.get_read(INVESTIGATOR, read.read_id, with_images=True)
    assert got.read == read
    assert not got.uplinked and not got.held and not got.hit
    assert store.get_read(INVESTIGATOR, read.read_id).read.crop_jpeg is None


def test_duplicate_read_is_refused_and_store_keeps_working(store):
    read = make_read()
    store.add_read(read)
    with pytest.raises(DuplicateError):
        store.add_read(read)
    store.add_read(make_read())
    assert store.stats()["reads"] == 2


def test_exact_and_partial_search(store):
    plates = ["7ABC123", "7ABD123", "8XYZ123", "7ABC124", "ZZ9999"]
    reads = {p: make_read(p, t=1_700_000_000 + i) for i, p in enumerate(plates)}
    for r in reads.values():
        store.add_read(r)

    def plates_of(**kw):
        return sorted(s.read.plate for s in store.search_reads(INVESTIGATOR, **kw))

    assert plates_of(plate="7abc-123") == ["7ABC123"]
    assert plates_of(pattern="7AB*") == ["7ABC123", "7ABC124", "7ABD123"]
    assert plates_of(pattern="*123") == ["7ABC123", "7ABD123", "8XYZ123"]
    assert plates_of(pattern="?ABC12?") == ["7ABC123", "7ABC124"]
    assert plates_of(pattern="7*") == ["7ABC123", "7ABC124", "7ABD123"]
    assert plates_of(pattern="*9*") == ["ZZ9999"]
    assert plates_of(pattern="*123", since=1_700_000_001, until=1_700_000_002) == [
        "7ABD123", "8XYZ123"]
    with pytest.raises(ValueError, match="bad plate pattern"):
        store.search_reads(INVESTIGATOR, pattern="7AB%")


def test_hits_only_and_alerts(store):
    hit, miss = make_read("7ABC123"), make_read("1XYZ999")
    store.add_read(hit)
    store.add_read(miss)
    alert = Alert(alert_id="a1", read_id=hit.read_id, plate=hit.plate, matched_entry="7ABC123",
                  matched_candidate="7ABC123", category="stolen-vehicle", hotlist_version="v7",
                  priority=1, created_wall=1_700_000_001.0)
    store.add_alert(alert)
    found = store.search_reads(INVESTIGATOR, hits_only=True)
    assert [s.read.read_id for s in found] == [hit.read_id] and found[0].hit
    assert store.alerts(INVESTIGATOR) == [alert]
    with pytest.raises(NotFound):
        store.add_alert(dataclasses.replace(alert, alert_id="a2", read_id="nope"))


@pytest.mark.parametrize("ctx, message", [
    (dataclasses.replace(INVESTIGATOR, purpose=""), "purpose"),
    (dataclasses.replace(INVESTIGATOR, purpose="   "), "purpose"),
    (dataclasses.replace(INVESTIGATOR, case_number=None), "case number"),
    (dataclasses.replace(AUDITOR, user=""), "user"),
])
def test_queries_refuse_incomplete_context(store, ctx, message):
    store.add_read(make_read())
    before = store.stats()["access_log_entries"]
    for call in (lambda: store.search_reads(ctx, plate="7ABC123"),
                 lambda: store.get_read(ctx, "x"), lambda: store.alerts(ctx),
                 lambda: store.access_log(ctx)):
        with pytest.raises(AccessDenied, match=message):
            call()
    assert store.stats()["access_log_entries"] == before


def test_every_query_is_logged_with_terms(store):
    store.add_read(make_read("7ABC123"))
    store.search_reads(INVESTIGATOR, pattern="7AB*")
    with pytest.raises(NotFound):
        store.get_read(INVESTIGATOR, "missing")
    entries = store.access_log(AUDITOR)
    search = [e for e in entries if e["action"] == "search"][-1]
    assert search["terms"]["pattern"] == "7AB*"
    assert search["user"] == "det.jones" and search["organisation"] == "Springfield PD"
    assert search["purpose"] == "stolen vehicle investigation"
    assert search["case_number"] == "2024-00123" and search["result_count"] == 1
    assert search["address"] == "10.0.0.5" and search["utc"].endswith("+00:00")
    view = [e for e in entries if e["action"] == "view"][-1]
    assert view["terms"]["read_id"] == "missing" and view["result_count"] == 0
    assert store.access_log(AUDITOR)[-1]["action"] == "audit_view"
    assert store.verify_access_log() == (True, None)


def test_auditor_without_case_number_is_allowed_but_recorded(store):
    store.search_reads(AUDITOR, plate="7ABC123")
    entry = [e for e in store.access_log(AUDITOR) if e["action"] == "search"][0]
    assert entry["case_number"] is None and entry["role"] == "auditor"


def test_log_event_and_record_access(store):
    store.log_event("login_failed", {"reason": "bad password"}, user="mallory", organisation="?")
    live = AccessContext("tech", "Springfield PD", "technician", "camera aiming")
    store.record_access(live, "live_view", terms={"camera": "lane1"})
    actions = [(e["action"], e["user"]) for e in store.access_log(AUDITOR)]
    assert ("login_failed", "mallory") in actions and ("live_view", "tech") in actions
    with pytest.raises(AccessDenied):
        store.record_access(dataclasses.replace(live, purpose=""), "live_view")


def test_wrong_kek_is_refused(tmp_path):
    open_store(tmp_path / "s.db").close()
    with pytest.raises(WrongKeyError, match="key-encryption key"):
        open_store(tmp_path / "s.db", kek=bytes(32))


def test_outbox_batches_and_ack(store):
    reads = [make_read(f"7ABC12{i}", t=1_700_000_000 + i) for i in range(3)]
    for r in reads:
        store.add_read(r)
    store.add_alert(Alert("al", reads[2].read_id, reads[2].plate, "7ABC122", "7ABC122",
                          "stolen-plate", "v1", 2, 1.0))
    pending = store.outbox_pending(100)
    kinds = [p.kind for p in pending]
    assert kinds[0] == "alert" and kinds[-3:] == ["read"] * 3 and "event" in kinds
    assert [p.record_id for p in pending if p.kind == "read"] == [r.read_id for r in reads]
    payload = pending[-3].payload
    assert payload["plate"] == "7ABC120" and payload["crop_jpeg_b64"]
    assert store.last_batch() is None and store.last_acked_seq() == 0
    store.save_batch(1, b'{"batch":1}', [(p.kind, p.record_id) for p in pending])
    store.save_batch(1, b'{"batch":1}', [])  # idempotent
    assert store.outbox_pending(100) == []
    assert store.batches_after(0) == [(1, b'{"batch":1}')]
    store.ack_batch(1)
    store.ack_batch(1)  # idempotent
    assert store.batches_after(0) == []
    assert store.last_acked_seq() == 1 and store.last_batch()[0] == 1
    assert store.get_read(INVESTIGATOR, reads[0].read_id).uplinked


def test_store_accepts_a_connection(tmp_path):
    conn = sqlite3.connect(tmp_path / "c.db", check_same_thread=False)
    s = open_store(conn, clock=Clock())
    s.add_read(make_read())
    assert s.stats()["reads"] == 1
    s.close()
    s2 = open_store(tmp_path / "c.db")
    assert s2.stats()["reads"] == 1
    s2.close()
    with pytest.raises(Exception, match="closed"):
        s2.add_read(make_read())
