"""The uplink on the real encrypted store: batches from the outbox, alerts from hotlists, marked
sent only on acknowledgement, resume after a restart, pull, and the JSON Schema of real batches."""

import json
import re
from pathlib import Path

import aiohttp
import jsonschema
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.config.uplink import UplinkConfig
from appliance.hotlist.manager import HotlistManager
from appliance.uplink.batch import Signer
from appliance.uplink.receiver.db import ReceiverDB
from appliance.uplink.receiver.puller import pull_once
from appliance.uplink.service import UplinkService
from tests.store_helpers import make_read, open_store
from tests.test_hotlist_lists import KEY, write_signed
from tests.uplink_helpers import TlsServer, receiver_server

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "appliance/uplink/batch.schema.json").read_text())
UNIT_KEY = Ed25519PrivateKey.generate()


def _service(store, srv, tmp_path, *, server_key=None, max_records=20):
    d = tmp_path / "hotlists"
    if not d.exists():
        d.mkdir()
        write_signed(d / "list.csv", b"# version: 3\nplate,category\n7HOT777,stolen-vehicle\n")
    hot = HotlistManager(d, KEY.public_key(), store=store)
    hot.reload()
    cfg = UplinkConfig(enabled=srv is not None, server_url=srv.url if srv else "",
                       server_cert_sha256=srv.pin if srv else "", batch_max_records=max_records)
    return UplinkService(store=store, signer=Signer(UNIT_KEY), device_id="unit-9", cfg=cfg,
                         server_key=server_key, hotlists=hot, health=lambda: {"ok": True})


@pytest.fixture()
async def recv(tmp_path):
    db = ReceiverDB(tmp_path / "recv.db")
    db.enroll("unit-9", Signer(UNIT_KEY).public_pem())
    srv = receiver_server(db, tmp_path)
    await srv.start()
    yield db, srv
    await srv.stop()
    db.close()


def _session(pin):
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=aiohttp.Fingerprint(bytes.fromhex(pin))))


async def test_store_batches_alerts_first_sent_only_on_ack(recv, tmp_path):
    db, srv = recv
    store = open_store(tmp_path / "unit.db")
    svc = _service(store, srv, tmp_path)
    reads = [make_read(f"1AAA{i:03d}") for i in range(45)]
    for r in reads:
        store.add_read(r)
    hit = make_read("7H0T777")  # look-alike of the listed plate
    store.add_read(hit)
    alerts = svc.on_read(hit)
    assert len(alerts) == 1 and alerts[0].match_kind == "confusion"
    backlog = store.stats()["backlog"]
    assert backlog["reads"] == 46 and backlog["alerts"] == 1
    # while the server is away nothing is marked sent
    await srv.stop()
    async with _session(srv.pin) as s:
        with pytest.raises(aiohttp.ClientError):
            await svc.pusher.push_pending(s)
    assert store.last_acked_seq() == 0 and store.stats()["backlog"]["batches_unacked"] >= 1
    await srv.start()
    async with _session(srv.pin) as s:
        await svc.pusher.push_pending(s)
    assert store.stats()["backlog"] == {"reads": 0, "alerts": 0, "events": 0,
                                        "batches_unacked": 0}
    assert set(db.read_ids("unit-9")) == {r.read_id for r in reads + [hit]}
    first_alert_batch = db.conn.execute("SELECT seq FROM alerts").fetchone()[0]
    assert first_alert_batch == 1
    stored = db.alerts("unit-9")[0]
    assert stored["confirmed"] is False and stored["notice"].startswith("UNVERIFIED")
    assert db.count("events", "unit-9") >= 1  # the store's access log travels too
    store.close()


async def test_restart_resumes_from_last_ack(recv, tmp_path):
    db, srv = recv
    store = open_store(tmp_path / "unit.db")
    svc = _service(store, srv, tmp_path, max_records=10)
    for i in range(30):
        store.add_read(make_read(f"2BBB{i:03d}"))
    batches = svc.source.unacked(2)  # sealed, then the unit loses power before sending
    db.ingest(batches[0][1])  # the server did get the first one; its ack was lost
    store.close()
    store = open_store(tmp_path / "unit.db")  # reboot
    assert store.last_acked_seq() == 0 and store.last_batch()[0] == 2
    svc = _service(store, srv, tmp_path, max_records=10)
    async with _session(srv.pin) as s:
        await svc.pusher.push_pending(s)
    assert db.count("reads", "unit-9") == 30 and db.counters.batches["duplicate"] == 1
    assert db.counters.duplicate_records == 0
    assert store.last_acked_seq() == db.unit_state("unit-9")[0]
    store.close()


async def test_pull_from_the_real_store(tmp_path):
    server_key = Ed25519PrivateKey.generate()
    store = open_store(tmp_path / "unit.db")
    svc = _service(store, None, tmp_path, server_key=server_key.public_key())
    for i in range(25):
        store.add_read(make_read(f"3CCC{i:03d}"))

    def factory():
        app = web.Application()
        assert svc.mount_pull(app)
        return app

    unit_srv = TlsServer(factory, tmp_path, "unit")
    await unit_srv.start()
    db = ReceiverDB(tmp_path / "recv.db")
    db.enroll("unit-9", Signer(UNIT_KEY).public_pem())
    async with _session(unit_srv.pin) as s:
        assert await pull_once(db, s, unit_srv.url, "unit-9", server_key) >= 2
    await unit_srv.stop()
    assert db.count("reads", "unit-9") == 25
    assert store.stats()["backlog"]["reads"] == 0
    # the pull itself went into the unit's access log, and from there to the server; fetching
    # that log-only batch was not logged again (no endless pull -> log -> pull loop)
    actions = [json.loads(r[0])["action"] for r in db.conn.execute("SELECT record FROM events")]
    assert actions.count("uplink_pull") == 1 and not store.outbox_pending(50)
    assert svc.status()["pull_enabled"] and svc.status()["last_acked_seq"] >= 2
    db.close()
    store.close()


def _validate_all(batches):
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for _, body in batches:
        validator.validate(json.loads(body))


def test_real_batches_validate_against_the_schema(tmp_path):
    store = open_store(tmp_path / "unit.db")
    svc = _service(store, None, tmp_path, max_records=7)
    for i in range(12):
        r = make_read(f"4DDD{i:03d}", frame_bytes=100)
        store.add_read(r)
    hit = make_read("7HOT777")
    store.add_read(hit)
    svc.on_read(hit)
    store.log_event("login_failed", {"user": "mallory"})
    batches = svc.source.unacked(10)
    assert len(batches) >= 2
    _validate_all(batches)
    first = json.loads(batches[0][1])["batch"]
    assert first["alerts"] and first["access_log"]
    assert all("frame_jpeg_b64" not in r for r in first["reads"])  # overview images stay home
    # and the schema does reject what it should
    bad = json.loads(batches[0][1])
    bad["batch"]["alerts"][0]["confirmed"] = True
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)
    bad = json.loads(batches[0][1])
    bad["batch"]["seq"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)
    store.close()


def test_docs_embed_the_schema():
    doc = (ROOT / "docs/uplink.md").read_text()
    block = re.search(r"<!-- schema -->\n```json\n(.*?)\n```", doc, re.S)
    assert block and json.loads(block.group(1)) == SCHEMA
