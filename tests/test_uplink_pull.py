"""Pull endpoint on the unit (signed requests) and the receiver's pull mode, over real TLS."""


import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.uplink.pull import add_pull_routes
from appliance.uplink.push import Pusher
from appliance.uplink.receiver.db import ReceiverDB
from appliance.uplink.receiver.puller import PullError, pull_once
from appliance.uplink.reqsign import RequestVerifier, sign_request
from appliance.uplink.sim import make_read, make_unit
from tests.uplink_helpers import TlsServer, receiver_server


@pytest.fixture()
async def unit(tmp_path):
    server_key = Ed25519PrivateKey.generate()
    outbox, source, signer = make_unit(max_records=10)
    accesses = []

    def factory():
        app = web.Application()
        add_pull_routes(app, source, RequestVerifier(server_key.public_key()), device_id="unit-1",
                        on_access=lambda kind, d: accesses.append((kind, d)))
        return app

    srv = TlsServer(factory, tmp_path, "unit")
    await srv.start()
    db = ReceiverDB(tmp_path / "recv.db")
    db.enroll("unit-1", signer.public_pem())
    conn = aiohttp.TCPConnector(ssl=aiohttp.Fingerprint(bytes.fromhex(srv.pin)))
    async with aiohttp.ClientSession(connector=conn) as session:
        yield dict(outbox=outbox, source=source, signer=signer, srv=srv, db=db, key=server_key,
                   session=session, accesses=accesses)
    await srv.stop()
    db.close()


async def test_server_pulls_verifies_stores_and_acks(unit):
    reads = [make_read() for _ in range(35)]
    for r in reads:
        unit["outbox"].add_read(r)
    n = await pull_once(unit["db"], unit["session"], unit["srv"].url, "unit-1", unit["key"])
    assert n == 4
    assert set(unit["db"].read_ids("unit-1")) == {r.read_id for r in reads}
    assert unit["outbox"].last_acked_seq() == 4 and not unit["outbox"].pending
    assert unit["accesses"] and unit["accesses"][0][0] == "uplink_pull"
    # nothing new: a second pull stores nothing and acks nothing twice
    assert await pull_once(unit["db"], unit["session"], unit["srv"].url, "unit-1", unit["key"]) == 0


async def _get(unit, path, headers):
    async with unit["session"].get(unit["srv"].url + path, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def test_unsigned_forged_replayed_and_stale_requests_are_refused(unit):
    unit["outbox"].add_read(make_read())
    path = "/uplink/v1/batches?after=0&limit=5"
    assert (await _get(unit, path, {}))[1]["error"] == "unsigned"
    other = Ed25519PrivateKey.generate()
    assert (await _get(unit, path, sign_request(other, "GET", path)))[1]["error"] == "bad_signature"
    # signed for a different path: refused
    h = sign_request(unit["key"], "GET", "/uplink/v1/batches?after=0&limit=99")
    assert (await _get(unit, path, h))[1]["error"] == "bad_signature"
    h = sign_request(unit["key"], "GET", path, clock=lambda: 1_000_000.0)
    assert (await _get(unit, path, h))[1]["error"] == "stale"
    h = sign_request(unit["key"], "GET", path)
    async with unit["session"].get(unit["srv"].url + path, headers=h) as r:
        assert r.status == 200 and len((await r.read()).splitlines()) == 1
    assert (await _get(unit, path, h))[1]["error"] == "replayed"
    assert unit["outbox"].last_acked_seq() == 0


async def test_bad_ack_requests(unit):
    unit["outbox"].add_read(make_read())
    for body in (b"{}", b'{"seq": -1}', b'{"seq": "1"}', b'{"seq": 7}'):
        h = sign_request(unit["key"], "POST", "/uplink/v1/ack", body)
        async with unit["session"].post(unit["srv"].url + "/uplink/v1/ack", data=body,
                                        headers=h) as r:
            assert r.status == 400, body
    assert unit["outbox"].last_acked_seq() == 0


async def test_pull_refuses_a_unit_that_is_not_the_one_enrolled(unit, tmp_path):
    db = ReceiverDB(tmp_path / "other.db")
    db.enroll("unit-2", unit["signer"].public_pem())
    with pytest.raises(PullError, match="not 'unit-2'"):
        await pull_once(db, unit["session"], unit["srv"].url, "unit-2", unit["key"])
    db.close()


async def test_push_and_pull_share_batches_and_acks(unit, tmp_path):
    db, outbox = unit["db"], unit["outbox"]
    for _ in range(15):
        outbox.add_read(make_read())
    assert await pull_once(db, unit["session"], unit["srv"].url, "unit-1", unit["key"]) == 2
    for _ in range(15):
        outbox.add_read(make_read())
    recv = receiver_server(db, tmp_path)
    await recv.start()
    pusher = Pusher(unit["source"], recv.url, recv.pin)
    conn = aiohttp.TCPConnector(ssl=pusher.fingerprint)
    async with aiohttp.ClientSession(connector=conn) as s:
        assert await pusher.push_pending(s) == 2
    await recv.stop()
    assert db.unit_state("unit-1")[0] == 4 and db.count("reads") == 30
    assert db.counters.batches["duplicate"] == 0
    # server lost an ack of a pulled batch: the next pull repeats it and the unit catches up
    for _ in range(5):
        outbox.add_read(make_read())
    (seq, body), = unit["source"].unacked(1)
    db.ingest(body)
    assert outbox.last_acked_seq() == 4
    assert await pull_once(db, unit["session"], unit["srv"].url, "unit-1", unit["key"]) == 0
    assert outbox.last_acked_seq() == seq == 5
    status_path = "/uplink/v1/status"
    h = sign_request(unit["key"], "GET", status_path)
    st, body = await _get(unit, status_path, h)
    assert st == 200 and body == {"device_id": "unit-1", "last_acked": 5, "last_sealed": 5}
