"""appliance.uplink.sim.MemoryOutbox obeys the same outbox contract as the real store.

One scenario, run on both: bench/fleet.py and the uplink tests rely on the memory outbox
behaving like storage.store.Store where the uplink can tell.
"""

from __future__ import annotations

import hashlib

import pytest
from store_helpers import open_store

from appliance.uplink.sim import MemoryOutbox, make_read, make_unit
from storage.exc import StoreError
from storage.types import Alert


@pytest.fixture(params=["memory", "store"])
def outbox(request, tmp_path):
    if request.param == "memory":
        yield MemoryOutbox()
        return
    store = open_store(tmp_path / "store.db")
    yield store
    store.close()


def _alert(read) -> Alert:
    return Alert(alert_id="al-" + read.read_id[:8], read_id=read.read_id, plate=read.plate,
                 matched_entry=read.plate, matched_candidate=read.plate,
                 category="stolen-vehicle", hotlist_version="v1", priority=2,
                 created_wall=read.last_seen_wall)


def test_outbox_contract(outbox):
    reads = [make_read("7ABC12" + str(i)) for i in range(3)]
    for r in reads:
        outbox.add_read(r)
    outbox.add_alert(_alert(reads[1]))
    pending = [(r.kind, r.record_id) for r in outbox.outbox_pending(100)
               if r.kind in ("alert", "read")]  # the store also sends its access-log events
    assert pending[0] == ("alert", "al-" + reads[1].read_id[:8])
    assert pending[1:] == [("read", r.read_id) for r in reads]
    assert outbox.last_batch() is None and outbox.last_acked_seq() == 0
    first = outbox.outbox_pending(2)
    outbox.save_batch(1, b"body-1", first)
    assert all((r.kind, r.record_id) not in
               {(p.kind, p.record_id) for p in outbox.outbox_pending(100)} for r in first)
    assert outbox.last_batch() == (1, hashlib.sha256(b"body-1").hexdigest())
    outbox.save_batch(2, b"body-2", outbox.outbox_pending(1))
    assert outbox.batches_after(0, 10) == [(1, b"body-1"), (2, b"body-2")]
    outbox.ack_batch(1)
    outbox.ack_batch(1)  # idempotent
    assert outbox.last_acked_seq() == 1
    assert outbox.batches_after(0, 10) == [(2, b"body-2")]  # unacknowledged only
    with pytest.raises(StoreError, match="no batch 9"):
        outbox.ack_batch(9)
    outbox.save_batch(2, b"body-2", [])  # the same batch again: a no-op
    with pytest.raises(StoreError):
        outbox.save_batch(2, b"other", [])


def test_make_unit_builds_signed_batches():
    outbox, source, signer = make_unit("unit-9", max_records=2)
    for _ in range(3):
        outbox.add_read(make_read())
    batches = source.unacked(10)
    assert [seq for seq, _ in batches] == [1, 2] and not outbox.pending
