"""Holds, retention with crypto-shredding, evidence packages and the release register."""

from __future__ import annotations

import dataclasses
import json
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from store_helpers import AUDITOR, DAY, INVESTIGATOR, Clock, make_read, open_store

from storage.evidence import verify_package
from storage.exc import AccessDenied, NotFound, ReleaseError

AGENCY = "Springfield PD"


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    s = open_store(tmp_path / "store.db", clock=clock, agency=AGENCY, after_ack=DAY,
                   max_ret=10 * DAY)
    yield s
    s.close()


def _ack_all(store, seq):
    pending = store.outbox_pending(10_000)
    store.save_batch(seq, b"batch%d" % seq, pending)
    store.ack_batch(seq)


def test_purge_after_ack_and_crypto_shredding(store, clock):
    a, b = make_read("7ABC123"), make_read("8XYZ999")
    store.add_read(a)
    store.add_read(b)
    _ack_all(store, 1)
    clock.advance(DAY / 2)
    assert store.purge_expired() == {}
    clock.advance(DAY)  # a day after the ack: both go, and the period is over -> key shredded
    purged = store.purge_expired()
    assert sum(c["reads"] for c in purged.values()) == 2
    stats = store.stats()
    assert stats["reads"] == 0 and stats["bytes"] == 0 and stats["shredded_keys"] == 1
    entries = store.access_log(AUDITOR)
    purge = [e for e in entries if e["action"] == "purge"][0]
    assert purge["detail"]["reads"] == 2 and "period" in purge["detail"]
    assert any(e["action"] == "key_destroyed" for e in entries)


def test_unsent_reads_purged_at_max_retention_as_security_event(store, clock):
    store.add_read(make_read())
    clock.advance(11 * DAY)
    purged = store.purge_expired()
    assert [c["unsent"] for c in purged.values()] == [1]
    purge = [e for e in store.access_log(AUDITOR) if e["action"] == "purge"][0]
    assert purge["detail"]["security_event"] is True


def test_held_read_survives_purge_and_key_shredding(store, clock):
    held, other = make_read("7ABC123", frame_bytes=3000), make_read("7ABC124")
    store.add_read(held)
    store.add_read(other)
    [hold] = store.place_hold(INVESTIGATOR, [held.read_id], reason="stolen car")
    _ack_all(store, 1)
    clock.advance(20 * DAY)
    store.purge_expired()
    stats = store.stats()
    assert stats["reads"] == 1 and stats["held_reads"] == 1
    assert stats["live_keys"].get("period", 0) == 0  # the period key is gone
    got = store.get_read(INVESTIGATOR, held.read_id, with_images=True)
    assert got.read == held and got.held
    for query in ({"pattern": "7AB*"}, {"plate": "7ABC123"}):
        found = store.search_reads(INVESTIGATOR, **query)
        assert [s.read.read_id for s in found] == [held.read_id]
    store.release_hold(INVESTIGATOR, hold.hold_id, reason="case closed")
    store.purge_expired()
    assert store.stats()["reads"] == 0
    assert store.stats()["live_keys"].get("hold", 0) == 0  # hold key shredded as well


def test_hold_needs_case_number_and_reason(store):
    read = make_read()
    store.add_read(read)
    with pytest.raises(AccessDenied, match="case number"):
        store.place_hold(dataclasses.replace(AUDITOR), [read.read_id], reason="x")
    with pytest.raises(ValueError, match="reason"):
        store.place_hold(INVESTIGATOR, [read.read_id], reason=" ")
    with pytest.raises(NotFound):
        store.place_hold(INVESTIGATOR, ["nope"], reason="x")
    assert store.holds(INVESTIGATOR) == []


def test_evidence_package_round_trip_and_tamper_detection(store, tmp_path):
    reads = [make_read("7ABC123", frame_bytes=4000), make_read("7ABC124")]
    for r in reads:
        store.add_read(r)
    store.place_hold(INVESTIGATOR, [r.read_id for r in reads], reason="burglary")
    key = Ed25519PrivateKey.generate()
    pkg = store.export_evidence(INVESTIGATOR, tmp_path / "case.zip", signer=key)
    check = verify_package(pkg, key.public_key())
    assert check.ok, check.problems
    assert check.files == 5  # reads.json, custody.json, 3 images
    with zipfile.ZipFile(pkg) as zf:
        custody = json.loads(zf.read("custody.json"))
        names = zf.namelist()
        exported = json.loads(zf.read("reads.json"))
    assert custody["case_number"] == "2024-00123" and custody["exported_by"] == "det.jones"
    assert custody["purpose"] and len(custody["holds"]) == 2
    assert {r["plate"] for r in exported} == {"7ABC123", "7ABC124"}
    # alter one image: verification names it
    tampered = tmp_path / "tampered.zip"
    victim = f"images/{reads[0].read_id}-crop.jpg"
    with zipfile.ZipFile(pkg) as src, zipfile.ZipFile(tampered, "w") as dst:
        for name in names:
            data = src.read(name)
            dst.writestr(name, data + b"x" if name == victim else data)
    bad = verify_package(tampered, key.public_key())
    assert not bad.ok and bad.altered == [victim]
    # a package signed by another key fails against the pinned key
    assert not verify_package(pkg, Ed25519PrivateKey.generate().public_key()).ok
    export = [e for e in store.access_log(AUDITOR) if e["action"] == "evidence_export"][0]
    assert export["result_count"] == 2


def test_release_register(store, tmp_path):
    read = make_read()
    store.add_read(read)
    store.place_hold(INVESTIGATOR, [read.read_id], reason="homicide")
    key = Ed25519PrivateKey.generate()
    out = tmp_path / "out.zip"
    with pytest.raises(ReleaseError, match="approved release request"):
        store.export_evidence(INVESTIGATOR, out, signer=key, recipient_agency="County DA")
    req = store.record_release_request(INVESTIGATOR, requesting_agency="County DA",
                                       agency_type="prosecutorial", requester="ADA Lee",
                                       purpose="prosecution of case 2024-00123")
    assert req.status == "pending"
    with pytest.raises(ReleaseError, match="pending"):
        store.export_evidence(INVESTIGATOR, out, signer=key, recipient_agency="County DA",
                              release_request_id=req.request_id)
    admin = dataclasses.replace(AUDITOR, user="chief", role="admin", purpose="release review")
    approved = store.decide_release_request(admin, req.request_id, approve=True, note="ok")
    assert approved.status == "approved" and approved.reviewer == "chief"
    with pytest.raises(ReleaseError, match="approved for"):
        store.export_evidence(INVESTIGATOR, out, signer=key, recipient_agency="Other PD",
                              release_request_id=req.request_id)
    store.export_evidence(INVESTIGATOR, out, signer=key, recipient_agency="County DA",
                          release_request_id=req.request_id)
    with zipfile.ZipFile(out) as zf:
        custody = json.loads(zf.read("custody.json"))
    assert custody["release_request"]["request_id"] == req.request_id
    [on_file] = store.release_requests(AUDITOR)
    assert on_file.fulfilled_at is not None and on_file.decided_at is not None


def test_private_requester_is_referred_and_cannot_be_approved(store):
    req = store.record_release_request(INVESTIGATOR, requesting_agency="Acme Repossessions",
                                       agency_type="private", requester="J. Doe",
                                       purpose="vehicle recovery")
    assert req.status == "referred" and "Records Administrator" in req.decision_note
    with pytest.raises(ReleaseError, match="referred"):
        store.decide_release_request(AUDITOR, req.request_id, approve=True, note="please")
