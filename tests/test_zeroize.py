"""Zeroisation: every key destroyed, identity and store unusable, tamper hook honours config."""

import os

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from prov_helpers import provision_unit

from appliance.cli import main
from appliance.config import load_config, parse_config
from provisioning import keys, zeroize
from provisioning.exc import KeyFileError
from provisioning.provision import ProvisionSpec, provision, provisioning_status


def test_zeroize_destroys_keys_and_makes_data_unreadable(tmp_path):
    spec, result = provision_unit(tmp_path)
    data = spec.data_dir
    # a data key wrapped by the KEK, as the store keeps them, and a sealed read
    kek = keys.load_kek(data)
    data_key, nonce = AESGCM.generate_key(256), os.urandom(12)
    wrapped = AESGCM(kek).encrypt(nonce, data_key, b"period-1")
    sealed = AESGCM(data_key).encrypt(nonce, b"7ABC123", b"read-1")
    # before: the KEK unwraps the data key, which opens the read
    assert AESGCM(AESGCM(kek).decrypt(nonce, wrapped, b"period-1")).decrypt(
        nonce, sealed, b"read-1") == b"7ABC123"
    destroyed = zeroize.zeroize(data)
    assert {p.name for p in destroyed} == {"kek.bin", "identity.key", "console.key", "identity.pub"}
    for path in keys.KeyPaths.of(data).private_files():
        assert not path.exists()
    with pytest.raises(KeyFileError, match="missing"):
        keys.load_kek(data)
    with pytest.raises(KeyFileError, match="missing"):
        keys.load_identity(data)
    assert zeroize.is_zeroized(data) and provisioning_status(data)["zeroized"]
    # after: no key on the unit unwraps the data key (what remains is a new, unrelated KEK)
    keys.ensure_dev_keys(data)
    with pytest.raises(InvalidTag):
        AESGCM(keys.load_kek(data)).decrypt(nonce, wrapped, b"period-1")
    for path in keys.KeyPaths.of(data).private_files():
        path.unlink()
    (data / "keys" / "identity.pub").unlink()
    # the unit can be provisioned again from scratch
    provision(ProvisionSpec(**{**spec.__dict__}), create_admin=lambda d, u: None)
    assert keys.load_kek(data) != kek


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
