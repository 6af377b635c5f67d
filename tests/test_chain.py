"""The whole chain on loopback: agency keys → provision → enrol (receiver registry) → signed batch
pushed over pinned TLS and accepted → signed hotlist applied → signed update applied →
zeroise leaves the store and identity unusable."""

import sys

import aiohttp
import pytest
from uplink_helpers import receiver_server

from appliance.cli import main
from appliance.config import load_config
from appliance.hotlist.manager import HotlistManager
from appliance.uplink.push import Pusher, PushRejected
from appliance.uplink.receiver.db import ReceiverDB
from appliance.uplink.sim import make_read, make_unit
from provisioning import keys
from provisioning.exc import KeyFileError
from provisioning.hotlist_format import HotlistError
from storage.exc import WrongKeyError
from storage.store import Store
from storage.types import AccessContext


@pytest.fixture()
async def receiver(tmp_path):
    db = ReceiverDB(tmp_path / "receiver.db")
    srv = receiver_server(db, tmp_path)
    await srv.start()
    yield db, srv
    await srv.stop()
    db.close()


async def test_provision_enrol_push_update_zeroize(tmp_path, receiver, capsys):
    db, srv = receiver
    agency_dir, data = tmp_path / "agency", tmp_path / "unit"
    # agency: keys; technician: provision the unit against this receiver
    assert main(["agency", "keygen", str(agency_dir)]) == 0
    assert main(["provision", "init", "--data-dir", str(data), "--unit-id", "pole-1",
                 "--serial", "SN1", "--server-url", srv.url, "--server-cert", str(srv.cert),
                 "--agency-keys", str(agency_dir), "--agency", "Lab PD"]) == 0
    config = load_config(data / "alpr.toml")
    assert config.uplink.server_cert_sha256 == srv.pin  # the pin provisioning wrote
    # agency: enrol (registers the key with the receiver); unit: install the response
    response = tmp_path / "response.json"
    assert main(["agency", "enroll", str(data / "enrolment-request.json"), "--keys",
                 str(agency_dir), "--out", str(response), "--agency", "Lab PD",
                 "--receiver-db", str(tmp_path / "receiver.db")]) == 0
    assert main(["provision", "enroll", str(response), "--data-dir", str(data)]) == 0

    # the unit's encrypted store is opened with its provisioned KEK; batches are signed with
    # its provisioned identity; the receiver verifies and stores them
    identity = keys.load_identity(data)
    store = Store.open(data / "store.db", keys.load_kek(data), budget_bytes=50_000_000,
                       retention_after_ack_s=3600, max_retention_s=86400, period_s=86400,
                       signer=identity, agency="Lab PD")
    outbox, source, _ = make_unit("pole-1", outbox=store, key=identity)
    reads = [make_read("7ABC123"), make_read("8XYZ999")]
    for read in reads:
        outbox.add_read(read)
    pusher = Pusher(source, config.uplink.server_url, config.uplink.server_cert_sha256)
    connector = aiohttp.TCPConnector(ssl=pusher.fingerprint)
    async with aiohttp.ClientSession(connector=connector) as session:
        assert await pusher.push_pending(session) == 1
    assert set(db.read_ids("pole-1")) == {r.read_id for r in reads}

    # a key that is not the enrolled one is refused by the receiver
    outbox2, source2, _ = make_unit("pole-1", key=keys.Ed25519PrivateKey.generate())
    outbox2.add_read(make_read())
    async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=pusher.fingerprint)) as session:
        with pytest.raises(PushRejected) as refused:
            await Pusher(source2, srv.url, srv.pin).push_pending(session)
    assert refused.value.code == "bad_signature" and refused.value.status == 403

    # the agency signs a hotlist; the unit installs it with its trust anchor; a hit is alerted
    # (unverified) and reaches the receiver ahead of reads
    hotlist = tmp_path / "stolen.csv"
    hotlist.write_text("# version: 2026-11-29.1\nplate,state,category,source\n"
                       "7ABC123,CA,stolen-vehicle,CHP\n")
    assert main(["agency", "sign-hotlist", str(hotlist), "--keys", str(agency_dir)]) == 0
    manager = HotlistManager(data / config.uplink.hotlist_dir,
                             keys.load_trust_anchor(data, "hotlist"), store=outbox)
    manager.install(hotlist)
    assert manager.version == "stolen.csv@2026-11-29.1"
    hit = make_read("7ABC123")
    outbox.add_read(hit)  # the read is stored first, then matched
    (alert,) = manager.check(hit)
    assert alert.category == "stolen-vehicle" and alert.notice.startswith("UNVERIFIED")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=pusher.fingerprint)) as s:
        assert await pusher.push_pending(s) == 1
    (stored,) = db.alerts("pole-1")
    assert stored["alert_id"] == alert.alert_id and stored["notice"].startswith("UNVERIFIED")
    assert stored.get("confirmed", False) is False
    forged = tmp_path / "forged.csv"
    forged.write_text(hotlist.read_text().replace("7ABC123", "7ABC124"))
    forged.with_name("forged.csv.sig").write_bytes(hotlist.with_name("stolen.csv.sig").read_bytes())
    with pytest.raises(HotlistError, match="does not verify"):
        manager.install(forged)
    assert manager.version == "stolen.csv@2026-11-29.1"  # the previous list stays active

    # signed software update, health-checked
    src = tmp_path / "release"
    (src / "appliance").mkdir(parents=True)
    (src / "appliance" / "__init__.py").write_text("RELEASE = '0.2.0'\n")
    bundle = tmp_path / "alpr-0.2.0.tar.gz"
    assert main(["agency", "sign-update", str(src), "--keys", str(agency_dir), "--kind",
                 "software", "--release", "0.2.0", "--out", str(bundle)]) == 0
    assert main(["update", "apply", str(bundle), "--config", str(data / "alpr.toml"),
                 "--kind", "software", "--base-release", "0.1.0",
                 "--health-cmd", f"{sys.executable} -c pass"]) == 0
    current = data / "updates" / "software" / "current" / "appliance" / "__init__.py"
    assert current.read_text() == "RELEASE = '0.2.0'\n"

    # zeroise: nothing can sign as this unit or open its data any more
    ctx = AccessContext(user="aud", organisation="Lab PD", role="auditor", purpose="chain test")
    found = store.search_reads(ctx, plate="7ABC123")
    assert hit.read_id in {r.read.read_id for r in found}  # readable before
    store.close()
    assert main(["zeroize", "--config", str(data / "alpr.toml"), "--yes"]) == 0
    with pytest.raises(KeyFileError):
        keys.load_identity(data)
    with pytest.raises(KeyFileError):
        keys.load_kek(data)
    with pytest.raises(WrongKeyError):  # any other key (a new unit's, a guess) opens nothing
        Store.open(data / "store.db", keys.secrets.token_bytes(32), budget_bytes=50_000_000,
                   retention_after_ack_s=3600, max_retention_s=86400, period_s=86400)
