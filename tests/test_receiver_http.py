"""The receiver's HTTP answers: precise errors with status codes, unit status, /metrics."""

import aiohttp
import pytest

from appliance.uplink.receiver.db import ReceiverDB
from appliance.uplink.sim import make_read, make_unit
from tests.uplink_helpers import receiver_server


@pytest.fixture()
async def client(tmp_path):
    db = ReceiverDB(tmp_path / "recv.db")
    srv = receiver_server(db, tmp_path)
    await srv.start()
    conn = aiohttp.TCPConnector(ssl=aiohttp.Fingerprint(bytes.fromhex(srv.pin)))
    async with aiohttp.ClientSession(connector=conn, base_url=srv.url) as s:
        yield db, s
    await srv.stop()
    db.close()


async def _post(s, body):
    async with s.post("/v1/batches", data=body) as r:
        return r.status, await r.json()


async def test_answers(client):
    db, s = client
    outbox, source, signer = make_unit(max_records=1, window=3)
    for _ in range(3):
        outbox.add_read(make_read())
    (_, b1), (_, b2), _ = source.unacked(3)
    async with s.get("/v1/units/unit-1/status") as r:
        assert r.status == 404
    assert await _post(s, b1) == (403, {"error": "unknown_unit",
                                        "detail": "unit 'unit-1' is not enrolled"})
    db.enroll("unit-1", signer.public_pem())
    status, body = await _post(s, b2)
    assert status == 409 and body["error"] == "sequence_gap" and body["expected"] == 1
    assert (await _post(s, b1))[1]["result"] == "stored"
    assert (await _post(s, b1))[1] == {"ack": 1, "result": "duplicate", "unit_id": "unit-1",
                                       "reads_stored": 0}
    assert (await _post(s, b"{}"))[0] == 400
    assert (await _post(s, b2[:-1] + b"x"))[1]["error"] == "malformed"
    assert (await _post(s, b2))[1]["ack"] == 2
    async with s.get("/v1/units/unit-1/status") as r:
        st = await r.json()
        assert st["last_seq"] == 2 and len(st["last_hash"]) == 64
    async with s.get("/metrics") as r:
        text = await r.text()
    for line in ('alpr_receiver_batches_total{result="stored"} 2',
                 'alpr_receiver_batches_total{result="duplicate"} 1',
                 'alpr_receiver_rejected_total{code="unknown_unit"} 1',
                 'alpr_receiver_rejected_total{code="sequence_gap"} 1',
                 'alpr_receiver_rejected_total{code="malformed"} 2',
                 "alpr_receiver_reads_stored_total 2", "alpr_receiver_units 1"):
        assert line in text.splitlines(), line
