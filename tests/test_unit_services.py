"""appliance.services in-process: dev keys only when nothing is provisioned, tamper → access log
(+ zeroize), store maintenance, a broken enabled uplink is safe mode, the sink keeps reads."""

from __future__ import annotations

import threading

from appliance.config import AlprConfig
from appliance.services import SecurityEvents, StoreSink, compose, load_unit_kek, open_store
from appliance.unit import UnitParts
from provisioning import keys
from provisioning.zeroize import is_zeroized
from tests.store_helpers import AUDITOR, make_read


def config(data, **sections) -> AlprConfig:
    return AlprConfig.model_validate({"unit": {"data_dir": str(data)}, **sections})


def test_dev_keys_only_when_nothing_is_provisioned(tmp_path, caplog):
    data = tmp_path / "d"
    kek, created = load_unit_kek(config(data), data)
    assert created and len(kek) == 32 and "DEVELOPMENT keys" in caplog.text
    assert load_unit_kek(config(data), data) == (kek, False)
    (data / "keys" / "kek.bin").unlink()  # half provisioned: an error, never new keys
    reason = compose(config(data), data, UnitParts())
    assert reason.startswith("store: KeyFileError") and "missing" in reason
    assert not (data / "keys" / "kek.bin").exists()


def test_tamper_is_logged_then_zeroizes_and_stops(tmp_path):
    data = tmp_path / "d"
    cfg = config(data, security={"zeroize_on_tamper": True})
    kek, _ = load_unit_kek(cfg, data)
    store = open_store(cfg, data, kek)
    stop = threading.Event()
    SecurityEvents(cfg, store, stop.set)("tamper", {"unit": "u"})
    assert [e for e in store.access_log(AUDITOR) if e["action"] == "tamper"]
    assert stop.is_set() and is_zeroized(data) and not (data / "keys" / "kek.bin").exists()
    store.close()
    reason = compose(cfg, data, UnitParts())  # the next start cannot open the store
    assert reason is not None and "KeyFileError" in reason


def test_tamper_without_zeroize_keeps_keys(tmp_path):
    data = tmp_path / "d"
    cfg = config(data)
    store = open_store(cfg, data, load_unit_kek(cfg, data)[0])
    stop = threading.Event()
    SecurityEvents(cfg, store, stop.set)("tamper", {})
    assert not stop.is_set() and keys.load_kek(data)
    store.close()


def test_compose_builds_sink_and_services_in_shutdown_order(tmp_path):
    data = tmp_path / "d"
    parts = UnitParts()
    assert compose(config(data), data, parts) is None
    names = [type(s).__name__ for s in parts.services]
    assert names == ["StoreService", "ConsoleService", "UplinkRunner"]  # stopped in reverse
    store_svc = parts.services[0]
    read = make_read("7ABC123")
    parts.sink.handle(read)
    assert isinstance(parts.sink, StoreSink) and parts.sink.plates() == ["7ABC123"]
    store_svc.sweep()
    assert store_svc.sweeps == 1 and store_svc.health()["reads"] == 1
    store_svc.stop()


def test_enabled_uplink_that_cannot_be_built_is_safe_mode(tmp_path):
    data = tmp_path / "d"
    keys.ensure_dev_keys(data)
    (data / "trust" / "server.pub").write_bytes(b"garbage")
    cfg = config(data, uplink={"enabled": True, "server_url": "https://127.0.0.1:9",
                               "server_cert_sha256": "ab" * 32}, console={"enabled": False})
    parts = UnitParts()
    reason = compose(cfg, data, parts)
    assert reason is not None and reason.startswith("uplink:")
    parts.services[0].stop()
