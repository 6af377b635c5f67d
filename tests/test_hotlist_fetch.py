"""Hotlists come down from the receiver: unit-signed requests, agency signature checked on the
unit, a bad list keeps the previous one, unchanged lists are not fetched again."""

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.config.uplink import UplinkConfig
from appliance.hotlist.manager import HotlistManager
from appliance.uplink.batch import Signer
from appliance.uplink.receiver.app import create_app
from appliance.uplink.receiver.db import ReceiverDB
from appliance.uplink.receiver.hotlists import NAME
from appliance.uplink.reqsign import sign_request
from appliance.uplink.service import UplinkService
from tests.store_helpers import make_read, open_store
from tests.test_hotlist_lists import CSV, KEY, write_signed
from tests.uplink_helpers import TlsServer

UNIT_KEY = Ed25519PrivateKey.generate()


@pytest.fixture()
async def env(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    db = ReceiverDB(tmp_path / "recv.db")
    db.enroll("unit-5", Signer(UNIT_KEY).public_pem())
    srv = TlsServer(lambda: create_app(db, hotlist_dir=served), tmp_path)
    await srv.start()
    store = open_store(tmp_path / "unit.db")
    (tmp_path / "unit-hot").mkdir()
    mgr = HotlistManager(tmp_path / "unit-hot", KEY.public_key(), store=store)
    cfg = UplinkConfig(enabled=True, server_url=srv.url, server_cert_sha256=srv.pin)
    svc = UplinkService(store=store, signer=Signer(UNIT_KEY), device_id="unit-5", cfg=cfg,
                        hotlists=mgr)
    conn = aiohttp.TCPConnector(ssl=aiohttp.Fingerprint(bytes.fromhex(srv.pin)))
    async with aiohttp.ClientSession(connector=conn) as session:
        yield dict(served=served, srv=srv, svc=svc, mgr=mgr, store=store, session=session, db=db)
    await srv.stop()
    store.close()
    db.close()


async def test_lists_come_down_and_raise_alerts(env):
    write_signed(env["served"] / "state.csv", CSV)
    sync = env["svc"].hotlist_sync
    assert await sync.sync(env["session"]) == {"state.csv": "installed 2026-11-29.1"}
    assert await sync.sync(env["session"]) == {}  # unchanged: not fetched again
    read = make_read("7ABC123")
    env["store"].add_read(read)
    alerts = env["svc"].on_read(read)
    assert [a.category for a in alerts] == ["stolen-vehicle", "partial-plate"]
    assert env["svc"].hotlist_status()["version"] == "state.csv@2026-11-29.1"


async def test_bad_list_from_server_keeps_previous(env):
    write_signed(env["served"] / "state.csv", CSV)
    sync = env["svc"].hotlist_sync
    await sync.sync(env["session"])
    # the server (or someone on it) offers a list not signed by the agency
    write_signed(env["served"] / "state.csv", b"plate,category\n1EVIL11,wanted\n",
                 key=Ed25519PrivateKey.generate())
    out = await sync.sync(env["session"])
    assert out["state.csv"].startswith("refused") and "signature" in out["state.csv"]
    assert await sync.sync(env["session"]) == {}  # known-bad version not fetched again
    assert env["mgr"].active()["state.csv"]["version"] == "2026-11-29.1"
    assert not env["mgr"].matches(["1EVIL11"])


async def test_only_enrolled_units_may_download(env):
    write_signed(env["served"] / "state.csv", CSV)
    url = env["srv"].url + "/v1/hotlists"
    s = env["session"]
    async with s.get(url) as r:
        assert r.status == 401
    stranger = Ed25519PrivateKey.generate()
    h = {**sign_request(stranger, "GET", "/v1/hotlists"), "X-Alpr-Unit": "unit-5"}
    async with s.get(url, headers=h) as r:
        assert r.status == 401 and (await r.json())["error"] == "bad_signature"
    h = {**sign_request(stranger, "GET", "/v1/hotlists"), "X-Alpr-Unit": "nobody"}
    async with s.get(url, headers=h) as r:
        assert (await r.json())["error"] == "unknown_unit"
    h = {**sign_request(UNIT_KEY, "GET", "/v1/hotlists/..%2Frecv.db"), "X-Alpr-Unit": "unit-5"}
    async with s.get(url + "/..%2Frecv.db", headers=h) as r:
        assert r.status in (401, 404)
    assert not NAME.match("../recv.db") and not NAME.match(".hidden.csv")
    assert NAME.match("state.csv") and NAME.match("state.csv.sig")
    env["db"].revoke("unit-5")
    h = {**sign_request(UNIT_KEY, "GET", "/v1/hotlists"), "X-Alpr-Unit": "unit-5"}
    async with s.get(url, headers=h) as r:
        assert (await r.json())["error"] == "revoked_unit"
