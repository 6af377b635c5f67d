"""Zeroisation: every key destroyed, identity and store unusable, tamper hook honours config."""

import os

import pytest
from prov_helpers import provision_unit
from store_helpers import AUDITOR, make_read

from appliance.cli import main
from appliance.config import load_config, parse_config
from appliance.provision_cli import unit_config_toml
from provisioning import keys, zeroize
from provisioning.exc import KeyFileError
from provisioning.provision import ProvisionSpec, provision, provisioning_status
from storage.exc import WrongKeyError
from storage.store import Store


def open_store(data, kek):
    return Store.open(data / "store.db", kek, budget_bytes=10_000_000, retention_after_ack_s=3600,
                      max_retention_s=86400, period_s=86400)


def test_zeroize_destroys_keys_and_makes_the_store_unreadable(tmp_path):
    spec, _ = provision_unit(tmp_path)
    data = spec.data_dir
    kek = keys.load_kek(data)
    read = make_read("7ABC123")
    with open_store(data, kek) as store:
        store.add_read(read)
        assert store.get_read(AUDITOR, read.read_id).read.plate == "7ABC123"
    destroyed = zeroize.zeroize(data)
    assert {p.name for p in destroyed} == {"kek.bin", "identity.key", "console.key", "identity.pub"}
    for path in keys.KeyPaths.of(data).private_files():
        assert not path.exists()
    with pytest.raises(KeyFileError, match="missing"):
        keys.load_kek(data)
    with pytest.raises(KeyFileError, match="missing"):
        keys.load_identity(data)
    assert zeroize.is_zeroized(data) and provisioning_status(data)["zeroized"]
    # the store file is still there, but no key the unit can produce opens it
    assert (data / "store.db").stat().st_size > 0
    keys.ensure_dev_keys(data)
    with pytest.raises(WrongKeyError):
        open_store(data, keys.load_kek(data))
    for path in keys.KeyPaths.of(data).private_files():
        path.unlink()
    (data / "keys" / "identity.pub").unlink()
    # the unit can be provisioned again from scratch
    provision(ProvisionSpec(**{**spec.__dict__}), unit_config_toml,
              create_admin=lambda d, u: None)
    assert keys.load_kek(data) != kek
    assert not (data / "store.db").exists() and not zeroize.is_zeroized(data)


def test_key_is_overwritten_before_unlink(tmp_path):
    path = tmp_path / "keys" / "kek.bin"
    keys.write_file_atomic(path, b"K" * 32)
    # keep a second hard link so we can see the blocks zeroisation left behind
    witness = tmp_path / "witness"
    os.link(path, witness)
    zeroize.zeroize(tmp_path)
    left = witness.read_bytes()
    assert not path.exists() and left != b"K" * 32 and len(left) == 32


def test_tamper_hook_follows_config(tmp_path):
    spec, _ = provision_unit(tmp_path)
    off = parse_config({"unit": {"data_dir": str(spec.data_dir)}})
    assert zeroize.on_tamper(off) is False and keys.load_kek(spec.data_dir)
    on = parse_config({"unit": {"data_dir": str(spec.data_dir)},
                       "security": {"zeroize_on_tamper": True}})
    assert zeroize.on_tamper(on) is True
    assert not keys.KeyPaths.of(spec.data_dir).kek.exists()
    assert "reason=tamper" in (spec.data_dir / "keys" / "ZEROIZED").read_text()


def test_cli_needs_confirmation(tmp_path, capsys, monkeypatch):
    spec, result = provision_unit(tmp_path)
    monkeypatch.setattr("sys.stdin", open(os.devnull))  # not a terminal
    assert main(["zeroize", "--config", str(result.config_file)]) == 1
    assert "--yes" in capsys.readouterr().err and keys.load_kek(spec.data_dir)
    assert load_config(result.config_file).unit.data_dir == str(spec.data_dir)
    assert main(["zeroize", "--config", str(result.config_file), "--yes"]) == 0
    assert "zeroized: 4 key files destroyed" in capsys.readouterr().out
    assert not keys.KeyPaths.of(spec.data_dir).kek.exists()
