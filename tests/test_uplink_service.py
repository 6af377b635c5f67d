"""UplinkService.from_config: keys and trust anchors from the data directory layout."""

import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.config.model import AlprConfig
from appliance.uplink.service import UplinkService
from tests.store_helpers import make_read, open_store
from tests.test_hotlist_lists import CSV, KEY, write_signed


def _pub(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def _layout(data, *, trust=True):
    (data / "keys").mkdir(parents=True)
    identity = Ed25519PrivateKey.generate()
    fd = os.open(data / "keys" / "identity.key", os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, identity.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    os.close(fd)
    if trust:
        (data / "trust").mkdir()
        (data / "trust" / "hotlist.pub").write_bytes(_pub(KEY))
        (data / "trust" / "server.pub").write_bytes(_pub(Ed25519PrivateKey.generate()))
        (data / "hotlists").mkdir()
        write_signed(data / "hotlists" / "state.csv", CSV)
    return identity


def test_from_config_wires_keys_hotlists_and_pull(tmp_path):
    data = tmp_path / "data"
    _layout(data)
    cfg = AlprConfig.model_validate({"unit": {"unit_id": "u-42", "data_dir": str(data)},
                                     "uplink": {"enabled": True, "server_url": "https://x:1",
                                                "server_cert_sha256": "ab" * 32}})
    store = open_store(tmp_path / "unit.db")
    svc = UplinkService.from_config(cfg, store)
    assert svc.device_id == "u-42" and svc.pusher is not None and svc.verifier is not None
    assert svc.hotlist_sync is not None
    assert svc.hotlist_status()["version"] == "state.csv@2026-11-29.1"
    read = make_read("6MIS001")
    store.add_read(read)
    assert svc.on_read(read)[0].priority == 1
    assert store.stats()["backlog"]["alerts"] == 1
    status = svc.status()
    assert status["push"]["enabled"] and status["last_acked_seq"] == 0
    store.close()


def test_without_trust_anchors_hotlists_and_pull_stay_off(tmp_path):
    data = tmp_path / "data"
    _layout(data, trust=False)
    cfg = AlprConfig.model_validate({"unit": {"data_dir": str(data)}})
    store = open_store(tmp_path / "unit.db")
    svc = UplinkService.from_config(cfg, store)
    assert svc.pusher is None and svc.verifier is None and svc.hotlists is None
    assert svc.on_read(make_read()) == [] and svc.hotlist_status()["enabled"] is False
    from aiohttp import web

    assert svc.mount_pull(web.Application()) is False
    store.close()
