"""Provisioning a unit and enrolling it with the agency (API and `alpr` CLI)."""

import dataclasses
import json
import stat
import tomllib

import pytest
from prov_helpers import make_agency, make_server_cert, provision_unit

from appliance.cli import main
from appliance.config import load_config
from appliance.provision_cli import unit_config_toml
from appliance.uplink.receiver.db import ReceiverDB
from provisioning import agency, enrol, keys, signing
from provisioning.exc import EnrolmentError, ProvisioningError
from provisioning.provision import ProvisionSpec, provision, provisioning_status
from storage.accounts import AccountStore, accounts_path, derive_seal_key


def test_provision_writes_keys_config_anchors_and_request(tmp_path):
    spec, result = provision_unit(tmp_path)
    data = spec.data_dir
    config = load_config(result.config_file)
    assert config.unit.unit_id == "unit-01" and config.unit.data_dir == str(data)
    assert config.uplink.server_url == spec.server_url and config.uplink.enabled
    assert config.uplink.server_cert_sha256 == keys.cert_sha256(spec.server_cert.read_bytes())
    text = result.config_file.read_text()
    for secret in (keys.KeyPaths.of(data).kek.read_bytes().hex(), "one-time-pw", "PRIVATE KEY"):
        assert secret not in text  # secrets never in the config
    for name in keys.TRUST_NAMES:
        assert keys.KeyPaths.of(data).trust(name).read_bytes() == \
            (tmp_path / "agency" / f"{name}.pub").read_bytes()
    for path in keys.KeyPaths.of(data).private_files():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    request = json.loads(result.request_file.read_text())
    body, key = enrol.verify_request(request)  # self-signed by the unit's identity
    assert body["unit_id"] == "unit-01" and body["serial"] == "SN-unit-01"
    assert keys.fingerprint(key) == keys.fingerprint(keys.load_identity(data).public_key())
    assert result.admin_password == "one-time-pw"


def test_bad_inputs_write_nothing(tmp_path):
    make_agency(tmp_path)
    cert = make_server_cert(tmp_path)
    base = dict(data_dir=tmp_path / "d", unit_id="u1", serial="S1", server_url="https://x.example/",
                server_cert=cert, agency_keys=tmp_path / "agency")
    cases = [({"server_url": "http://x.example/"}, "https"),
             ({"unit_id": "bad id!"}, "unit id"),
             ({"agency_keys": tmp_path / "nowhere"}, "missing"),
             ({"server_cert": tmp_path / "agency" / "server.pub"}, "X.509"),
             ({"extra_config": {"camera": {"fps": -1}}}, "camera.fps"),
             ({"admin_user": "Bad Name!"}, "admin user"),
             ({"mgmt_nets": ("10.0.0.0/24; flush ruleset",)}, "management network")]
    for change, message in cases:
        with pytest.raises(ValueError, match=message):
            provision(ProvisionSpec(**{**base, **change}), unit_config_toml,
                      create_admin=lambda d, u: None)
        assert not (tmp_path / "d" / "keys").exists(), change


def test_data_without_keys_is_not_adopted(tmp_path):
    make_agency(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "store.db").write_bytes(b"old unit's data")
    spec = ProvisionSpec(data_dir=tmp_path / "d", unit_id="u1", serial="S1",
                         server_url="https://x.example/", server_cert=make_server_cert(tmp_path),
                         agency_keys=tmp_path / "agency")
    with pytest.raises(ProvisioningError, match="data without keys"):
        provision(spec, unit_config_toml, create_admin=lambda d, u: None)
    assert (tmp_path / "d" / "store.db").read_bytes() == b"old unit's data"


def test_provisioning_twice_is_refused(tmp_path):
    spec, _ = provision_unit(tmp_path)
    kek = keys.load_kek(spec.data_dir)
    with pytest.raises(ProvisioningError, match="already provisioned"):
        provision(spec, unit_config_toml, create_admin=lambda d, u: None)
    assert keys.load_kek(spec.data_dir) == kek


def test_enrolment_round_trip_and_status(tmp_path):
    spec, result = provision_unit(tmp_path)
    assert provisioning_status(spec.data_dir)["enrolled"] is False
    registered = {}
    response = agency.enrol_unit(tmp_path / "agency", result.request, "Test County Sheriff",
                                 register=lambda uid, pem: registered.update({uid: pem}))
    assert registered == {"unit-01": result.request["identity_public_key"]}
    body = enrol.install_response(spec.data_dir, response)
    assert body["agency"] == "Test County Sheriff"
    status = provisioning_status(spec.data_dir)
    assert status["enrolled"] and status["agency"] == "Test County Sheriff"
    assert all(status["trust"].values()) and status["kek"] and not status["zeroized"]


def test_tampered_or_foreign_enrolments_are_rejected(tmp_path):
    spec, result = provision_unit(tmp_path)
    forged = dict(result.request, serial="SN-other")
    with pytest.raises(EnrolmentError, match="does not verify"):
        agency.enrol_unit(tmp_path / "agency", forged, "A")
    response = agency.enrol_unit(tmp_path / "agency", result.request, "A")
    altered = dict(response, agency="Evil Corp")
    with pytest.raises(EnrolmentError, match="does not verify"):
        enrol.install_response(spec.data_dir, altered)
    other_agency = tmp_path / "other"
    agency.keygen(other_agency)
    foreign = agency.enrol_unit(other_agency, result.request, "Other")
    with pytest.raises(EnrolmentError, match="not the trusted key"):
        enrol.install_response(spec.data_dir, foreign)
    spec2, result2 = provision_unit(tmp_path, unit_id="unit-02")
    for_unit2 = agency.enrol_unit(tmp_path / "agency", result2.request, "A")
    with pytest.raises(EnrolmentError, match="another unit"):
        enrol.install_response(spec.data_dir, for_unit2)
    assert not (spec.data_dir / enrol.ENROLMENT_FILE).exists()
    with pytest.raises(EnrolmentError, match="not an enrolment request"):
        enrol.verify_request({"type": "something"})


def test_cli_chain(tmp_path, capsys):
    assert main(["agency", "keygen", str(tmp_path / "agency")]) == 0
    assert main(["agency", "keygen", str(tmp_path / "agency")]) == 1  # never overwrites
    assert "refusing to overwrite" in capsys.readouterr().err
    cert = make_server_cert(tmp_path)
    data = tmp_path / "data"
    rc = main(["provision", "init", "--data-dir", str(data), "--unit-id", "pole-7",
               "--serial", "SN7", "--server-url", "https://srv.example/",
               "--server-cert", str(cert),
               "--agency-keys", str(tmp_path / "agency"), "--console-ip", "10.1.2.3"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "enrolment-request.json" in out and "one-time password:" in out
    written = tomllib.loads((data / "alpr.toml").read_text())
    assert written["unit"]["unit_id"] == "pole-7"
    assert written["console"]["host"] == "127.0.0.1"  # no firewall addresses: loopback only
    resp = tmp_path / "resp.json"
    receiver_db = tmp_path / "receiver.db"
    assert main(["agency", "enroll", str(data / "enrolment-request.json"), "--keys",
                 str(tmp_path / "agency"), "--out", str(resp), "--agency", "PD",
                 "--receiver-db", str(receiver_db)]) == 0
    registry = ReceiverDB(receiver_db)
    assert [u["unit_id"] for u in registry.units()] == ["pole-7"]
    registry.close()
    assert main(["provision", "enroll", str(resp), "--data-dir", str(data)]) == 0
    assert "enrolled pole-7 with PD" in capsys.readouterr().out
    assert main(["provision", "status", "--config", str(data / "alpr.toml")]) == 0
    assert json.loads(capsys.readouterr().out)["enrolled"] is True
    resp.write_text("{not json")
    assert main(["provision", "enroll", str(resp), "--data-dir", str(data)]) == 1
    assert "not valid JSON" in capsys.readouterr().err


def test_signature_helpers_reject_malformed(tmp_path):
    key = keys.Ed25519PrivateKey.generate()
    doc = signing.sign_document({"a": 1}, key)
    assert signing.verify_document(doc, key.public_key()) == {"a": 1}
    bad = dict(doc, signature=dict(doc["signature"], value="!!notbase64"))
    with pytest.raises(ValueError, match="does not verify"):
        signing.verify_document(bad, key.public_key())
    with pytest.raises(ValueError, match="missing or malformed"):
        signing.verify_document({"a": 1}, key.public_key())
    with pytest.raises(ValueError, match="JSON object"):
        signing.verify_document([doc], key.public_key())


def test_first_admin_has_a_one_time_password(tmp_path):
    spec, _ = provision_unit(tmp_path)
    spec2 = dataclasses.replace(spec, data_dir=tmp_path / "real", admin_user="chief",
                                mgmt_nets=("10.20.0.0/24",), server_addrs=("203.0.113.10",))
    result = provision(spec2, unit_config_toml)  # the real account store
    assert result.admin_password and len(result.admin_password) >= 16
    store = AccountStore.open(accounts_path(spec2.data_dir),
                              seal_key=derive_seal_key(keys.load_kek(spec2.data_dir)))
    try:
        login = store.login("chief", result.admin_password, "127.0.0.1")
        assert login.ok and login.user.role == "admin" and login.user.must_change_password
        assert login.user.organisation == "Test County Sheriff"
        assert not store.login("chief", "wrong-password-123", "127.0.0.1").ok
    finally:
        store.close()
    assert result.admin_password not in result.config_file.read_text()
    assert load_config(result.config_file).console.host == "0.0.0.0"  # firewall guards it
    firewall = (spec2.data_dir / "firewall.nft").read_text()
    assert "mgmt4 { 10.20.0.0/24 }" in firewall and "server4 { 203.0.113.10/32 }" in firewall
