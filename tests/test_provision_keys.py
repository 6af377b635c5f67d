"""provisioning.keys: atomic 0600 files, permission checks, credentials, trust anchors."""

import logging
import os
import ssl
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioning import keys
from provisioning.exc import InsecureKeyFile, KeyFileError


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_generated_keys_are_private_and_load_back(tmp_path):
    kek_path = keys.generate_kek(tmp_path)
    ident = keys.generate_identity(tmp_path)
    keys.generate_console_tls(tmp_path, "unit-7", hostnames=("alpr-7.local",), ips=("10.0.0.7",))
    paths = keys.KeyPaths.of(tmp_path)
    for p in paths.private_files():
        assert mode(p) == 0o600, p
    assert mode(paths.keys_dir) == 0o700
    assert len(keys.load_kek(tmp_path)) == 32 and kek_path == paths.kek
    loaded = keys.load_identity(tmp_path)
    sig = loaded.sign(b"x")
    ident.public_key().verify(sig, b"x")
    pub = keys.parse_public_pem(paths.identity_pub.read_bytes())
    assert keys.fingerprint(pub) == keys.fingerprint(ident.public_key())
    cert, key = keys.console_tls_paths(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)  # a real, consistent TLS pair
    assert len(keys.cert_sha256(cert.read_bytes())) == 64


def test_group_readable_private_key_is_refused(tmp_path):
    keys.generate_identity(tmp_path)
    keys.generate_kek(tmp_path)
    paths = keys.KeyPaths.of(tmp_path)
    os.chmod(paths.identity_key, 0o640)
    with pytest.raises(InsecureKeyFile, match="chmod 600"):
        keys.load_identity(tmp_path)
    os.chmod(paths.kek, 0o604)
    with pytest.raises(PermissionError):
        keys.load_kek(tmp_path)


def test_missing_wrong_and_corrupt_keys_have_clear_errors(tmp_path):
    with pytest.raises(KeyFileError, match="missing"):
        keys.load_kek(tmp_path)
    paths = keys.KeyPaths.of(tmp_path)
    keys.write_file_atomic(paths.kek, b"short")
    with pytest.raises(KeyFileError, match="32 bytes"):
        keys.load_kek(tmp_path)
    keys.write_file_atomic(paths.identity_key, b"garbage")
    with pytest.raises(KeyFileError, match="not a PEM"):
        keys.load_identity(tmp_path)
    keys.generate_console_tls(tmp_path, "u")  # an EC key is not an identity key
    keys.write_file_atomic(paths.identity_key, paths.console_key.read_bytes())
    with pytest.raises(KeyFileError, match="Ed25519"):
        keys.load_identity(tmp_path)


def test_private_file_errors_are_provisioning_errors(tmp_path):
    """read_private shares storage's reader but raises provisioning's exception types."""
    paths = keys.KeyPaths.of(tmp_path)
    with pytest.raises(KeyFileError, match="private key file not found.*provision init"):
        keys.read_private(paths.identity_key)
    with pytest.raises(KeyFileError, match="not a regular file"):
        keys.read_private(tmp_path)
    keys.generate_identity(tmp_path)
    os.chmod(paths.identity_key, 0o644)
    with pytest.raises(InsecureKeyFile, match="group/others") as err:
        keys.read_private(paths.identity_key)
    assert isinstance(err.value, PermissionError)
    keys.write_file_atomic(paths.kek, b"K" * 32, mode=0o640)
    with pytest.raises(InsecureKeyFile, match="key-encryption key"):
        keys.load_kek(tmp_path)


def test_atomic_write_keeps_old_content_on_failure(tmp_path):
    target = tmp_path / "keys" / "kek.bin"
    keys.write_file_atomic(target, b"A" * 32)
    with pytest.raises(TypeError):
        keys.write_file_atomic(target, object())  # write fails mid-way
    assert target.read_bytes() == b"A" * 32
    assert [p.name for p in target.parent.iterdir()] == ["kek.bin"]  # no temp litter


def test_systemd_credentials_win(tmp_path, monkeypatch):
    keys.generate_kek(tmp_path / "data")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / keys.CRED_KEK).write_bytes(b"C" * 32)
    os.chmod(creds / keys.CRED_KEK, 0o400)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert keys.load_kek(tmp_path / "data") == b"C" * 32
    assert keys.load_kek(tmp_path / "data", f"credential:{keys.CRED_KEK}") == b"C" * 32
    assert keys.load_kek(tmp_path / "data", "keys/kek.bin") == b"C" * 32  # credential wins
    with pytest.raises(KeyFileError, match="credential 'nope' not found"):
        keys.load_kek(tmp_path / "data", "credential:nope")


def test_trust_anchors(tmp_path):
    agency = Ed25519PrivateKey.generate()
    keys.install_trust_anchor(tmp_path, "hotlist", keys.public_pem(agency.public_key()))
    loaded = keys.load_trust_anchor(tmp_path, "hotlist")
    loaded.verify(agency.sign(b"list"), b"list")
    with pytest.raises(KeyFileError, match="unknown trust anchor"):
        keys.install_trust_anchor(tmp_path, "root", keys.public_pem(agency.public_key()))
    with pytest.raises(KeyFileError, match="not a PEM"):
        keys.install_trust_anchor(tmp_path, "update", b"-----BEGIN nonsense")
    assert not (tmp_path / "trust" / "update.pub").exists()
    with pytest.raises(KeyFileError, match="missing"):
        keys.load_trust_anchor(tmp_path, "server")


def test_ensure_dev_keys_is_loud_and_idempotent(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="provisioning.keys"):
        created = keys.ensure_dev_keys(tmp_path)
    assert "DEVELOPMENT KEYS" in caplog.text and len(created) == 6
    kek = keys.load_kek(tmp_path)
    caplog.clear()
    assert keys.ensure_dev_keys(tmp_path) == [] and not caplog.text
    assert keys.load_kek(tmp_path) == kek  # existing keys are never replaced
    for name in keys.TRUST_NAMES:
        keys.load_trust_anchor(tmp_path, name)
