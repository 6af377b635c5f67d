"""Push client against a real TLS receiver on loopback: pinning, acks, resume, alert priority."""

import asyncio
import random
import time

import aiohttp
import pytest

from appliance.uplink.push import Pusher, PushRejected, backoff_delay
from appliance.uplink.receiver.db import ReceiverDB
from appliance.uplink.sim import make_read, make_unit
from storage.types import Alert
from tests.uplink_helpers import receiver_server


def _alert(read_id="r1"):
    return Alert(alert_id="a" * 32, read_id=read_id, plate="7ABC123", matched_entry="7ABC123",
                 matched_candidate="7ABC123", category="stolen-vehicle", hotlist_version="v1",
                 priority=1, created_wall=time.time())


@pytest.fixture()
async def recv(tmp_path):
    db = ReceiverDB(tmp_path / "recv.db")
    srv = receiver_server(db, tmp_path)
    await srv.start()
    yield db, srv
    await srv.stop()
    db.close()


def _session(pusher):
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=pusher.fingerprint))


async def test_push_delivers_everything_alerts_first(recv):
    db, srv = recv
    outbox, source, signer = make_unit(max_records=10)
    db.enroll("unit-1", signer.public_pem())
    reads = [make_read() for _ in range(25)]
    for r in reads:
        outbox.add_read(r)
    outbox.add_alert(_alert(reads[-1].read_id))
    pusher = Pusher(source, srv.url, srv.pin)
    async with _session(pusher) as s:
        assert await pusher.push_pending(s) == 3
    assert set(db.read_ids("unit-1")) == {r.read_id for r in reads}
    assert outbox.last_acked_seq() == 3 and not outbox.pending
    first = db.conn.execute("SELECT seq FROM alerts").fetchone()[0]
    assert first == 1  # the alert rode in the first batch although it was queued last
    assert db.alerts()[0]["notice"].startswith("UNVERIFIED") and not db.alerts()[0]["confirmed"]


async def test_wrong_pin_sends_nothing(recv):
    db, srv = recv
    outbox, source, signer = make_unit()
    db.enroll("unit-1", signer.public_pem())
    outbox.add_read(make_read())
    pusher = Pusher(source, srv.url, "0" * 64)
    async with _session(pusher) as s:
        with pytest.raises(aiohttp.ServerFingerprintMismatch):
            await pusher.push_pending(s)
    assert db.count("batches") == 0 and outbox.last_acked_seq() == 0


async def test_refused_batch_is_kept_not_marked_sent(recv):
    db, srv = recv
    outbox, source, _ = make_unit()  # never enrolled
    outbox.add_read(make_read())
    pusher = Pusher(source, srv.url, srv.pin)
    async with _session(pusher) as s:
        with pytest.raises(PushRejected) as ei:
            await pusher.push_pending(s)
    assert ei.value.code == "unknown_unit" and ei.value.status == 403
    assert outbox.last_acked_seq() == 0 and outbox.batches  # still there for later


async def test_resume_after_restart_and_lost_ack(recv):
    db, srv = recv
    outbox, source, signer = make_unit(max_records=5)
    db.enroll("unit-1", signer.public_pem())
    reads = [make_read() for _ in range(20)]
    for r in reads:
        outbox.add_read(r)
    # the server got batch 1 and 2 but the acks never came back (link cut, unit rebooted)
    for seq, body in source.unacked(2):
        assert db.ingest(body).seq == seq
    assert outbox.last_acked_seq() == 0
    # "restart": a fresh source/pusher over the same persistent outbox
    _, source2, _ = make_unit(max_records=5, outbox=outbox, key=signer._key)
    pusher = Pusher(source2, srv.url, srv.pin)
    async with _session(pusher) as s:
        assert await pusher.push_pending(s) == 4
    assert db.count("reads") == 20 and db.counters.batches == {"stored": 4, "duplicate": 2}
    assert db.counters.duplicate_records == 0 and outbox.last_acked_seq() == 4


def test_backoff_grows_with_jitter_and_is_capped():
    rng = random.Random(1)
    d = [[backoff_delay(a, 1.0, 30.0, rng) for _ in range(200)] for a in range(1, 9)]
    assert all(0.1 <= x <= 1.0 for x in d[0])
    assert all(x <= 30.0 for row in d for x in row)
    assert max(d[3]) > 4 and len({round(x, 3) for x in d[5]}) > 100  # spread, not lockstep


def test_https_is_required():
    _, source, _ = make_unit()
    with pytest.raises(ValueError):
        Pusher(source, "http://127.0.0.1:1", "0" * 64)


async def test_alert_reaches_server_quickly(recv):
    """Target 2 s from read to server; asserted generously (the bench prints the figure)."""
    db, srv = recv
    outbox, source, signer = make_unit()
    db.enroll("unit-1", signer.public_pem())
    pusher = Pusher(source, srv.url, srv.pin, interval_s=60)
    stop = asyncio.Event()
    task = asyncio.create_task(pusher.run(stop))
    await asyncio.sleep(0.2)
    read = make_read()
    t0 = time.perf_counter()
    outbox.add_read(read)
    outbox.add_alert(_alert(read.read_id))
    pusher.wake()
    while db.count("alerts") == 0 and time.perf_counter() - t0 < 10:
        await asyncio.sleep(0.01)
    latency = time.perf_counter() - t0
    stop.set()
    await task
    assert db.count("alerts") == 1 and latency < 5.0
