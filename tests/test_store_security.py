"""At-rest secrecy, the KEK's file rules, and the tamper-evident access log."""

from __future__ import annotations

import os
import sqlite3

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from store_helpers import AUDITOR, INVESTIGATOR, JPEG, Clock, make_read, open_store

from storage.crypto import DataKey, PlatePattern
from storage.exc import InsecureKeyFileError, KeyFileError, WrongKeyError
from storage.keys import (
    load_kek,
    load_kek_credential,
    load_or_create_dev_kek,
    read_secret_file,
    resolve_kek,
)

PLATES = [f"{c}KXQ{n:03d}" for c, n in zip("1234567", (17, 205, 333, 480, 512, 699, 900),
                                            strict=True)]


def _scan(directory) -> list[str]:
    hits = []
    for path in sorted(directory.iterdir()):
        data = path.read_bytes()
        for plate in PLATES:
            if plate.encode() in data:
                hits.append(f"{path.name}: plate {plate}")
        if JPEG in data:
            hits.append(f"{path.name}: JPEG magic")
    return hits


def test_no_plate_or_image_bytes_on_disk(tmp_path):
    store = open_store(tmp_path / "store.db")
    reads = [make_read(p, crop_bytes=3000, frame_bytes=8000) for p in PLATES]
    for r in reads:
        store.add_read(r)
    store.search_reads(INVESTIGATOR, plate=PLATES[0])
    store.search_reads(INVESTIGATOR, pattern=PLATES[1][:4] + "*")
    store.place_hold(INVESTIGATOR, [reads[2].read_id], reason="test")
    store.outbox_pending(100)
    files = {p.name for p in tmp_path.iterdir()}
    assert files <= {"store.db", "store.db-wal", "store.db-shm"}
    assert "store.db-wal" in files  # the WAL is scanned while it still holds the inserts
    assert _scan(tmp_path) == []
    store.close()
    assert _scan(tmp_path) == []
    # and the reads are really there
    store = open_store(tmp_path / "store.db")
    assert store.get_read(INVESTIGATOR, reads[0].read_id, with_images=True).read == reads[0]
    store.close()


def test_sealed_rows_cannot_be_swapped(tmp_path):
    store = open_store(tmp_path / "store.db")
    a, b = make_read("7ABC123"), make_read("8XYZ999")
    store.add_read(a)
    store.add_read(b)
    store.close()
    conn = sqlite3.connect(tmp_path / "store.db")
    meta_b = conn.execute("SELECT meta FROM reads WHERE read_id=?", (b.read_id,)).fetchone()[0]
    conn.execute("UPDATE reads SET meta=? WHERE read_id=?", (meta_b, a.read_id))
    conn.commit()
    conn.close()
    store = open_store(tmp_path / "store.db")
    with pytest.raises(WrongKeyError, match=a.read_id):
        store.get_read(INVESTIGATOR, a.read_id)
    store.close()


def test_data_key_seal_binds_kind_and_nonces_are_unique():
    key = DataKey(1, 5, os.urandom(32))
    blobs = {key.seal("r1", "meta", b"same") for _ in range(50)}
    assert len(blobs) == 50
    blob = blobs.pop()
    assert key.open("r1", "meta", blob) == b"same"
    other_period = DataKey(1, 6, key.raw)
    for rid, kind, k in (("r2", "meta", key), ("r1", "crop", key), ("r1", "meta", other_period)):
        with pytest.raises(WrongKeyError):
            k.open(rid, kind, blob)


def test_plate_patterns_and_the_refusal_rule():
    assert PlatePattern.parse("7ab-*").text == "7AB*"
    assert PlatePattern.parse("1**9").text == "1*9"
    ends = PlatePattern.parse("1*9")
    assert ends.matches("1ABC239") and ends.matches("19") and not ends.matches("1ABC238")
    fixed = PlatePattern.parse("?AB12?")
    assert fixed.matches("7AB123") and not fixed.matches("7AB1234")
    for degenerate in ("*", "?*", "???", "*?*"):
        with pytest.raises(ValueError, match="no letter or digit"):
            PlatePattern.parse(degenerate)


def test_kek_file_permissions(tmp_path):
    path = tmp_path / "kek.bin"
    path.write_bytes(os.urandom(32))
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_kek(path)
    path.chmod(0o640)
    with pytest.raises(KeyFileError, match="group/others"):
        load_kek(path)
    path.chmod(0o600)
    assert len(load_kek(path)) == 32
    path.write_bytes(b"short")
    with pytest.raises(KeyFileError, match="32 bytes"):
        load_kek(path)
    with pytest.raises(KeyFileError, match="not found"):
        load_kek(tmp_path / "missing.bin")


def test_secret_file_reader(tmp_path):
    path = tmp_path / "secret"
    path.write_bytes(b"s3cret")
    path.chmod(0o600)
    assert read_secret_file(path) == b"s3cret"
    with pytest.raises(KeyFileError, match="must be 4 bytes, found more"):
        read_secret_file(path, size=4)
    with pytest.raises(KeyFileError, match="must be 8 bytes, found 6"):
        read_secret_file(path, size=8)
    path.chmod(0o604)
    with pytest.raises(InsecureKeyFileError, match="token is accessible by group/others"):
        read_secret_file(path, what="token")
    with pytest.raises(KeyFileError, match="token not found .*make one"):
        read_secret_file(tmp_path / "nope", what="token", missing_hint="make one")
    with pytest.raises(KeyFileError, match="not a regular file"):
        read_secret_file(tmp_path)


def test_dev_kek_is_created_0600_with_a_warning(tmp_path, caplog):
    path = tmp_path / "keys" / "kek.bin"
    kek = load_or_create_dev_kek(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert "DEVELOPMENT KEY" in caplog.text
    assert load_or_create_dev_kek(path) == kek


def test_systemd_credential(tmp_path, monkeypatch):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "alpr-kek").write_bytes(b"k" * 32)
    (creds / "alpr-kek").chmod(0o400)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert load_kek_credential() == b"k" * 32
    assert resolve_kek(tmp_path, "keys/kek.bin") == b"k" * 32  # the credential wins
    assert resolve_kek(tmp_path, "credential:alpr-kek") == b"k" * 32
    with pytest.raises(KeyFileError, match="other"):
        resolve_kek(tmp_path, "credential:other")


def _tamper(path, sql, *args):
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER IF EXISTS access_log_no_update")
    conn.execute("DROP TRIGGER IF EXISTS access_log_no_delete")
    conn.execute(sql, args)
    conn.commit()
    conn.close()


def _logged_store(path, signer=None):
    store = open_store(path, signer=signer)
    for i in range(6):
        store.search_reads(INVESTIGATOR, plate=f"7ABC12{i}")
    return store


@pytest.mark.parametrize("sql, args, bad", [
    ("UPDATE access_log SET sealed = (SELECT sealed FROM access_log WHERE seq=5) WHERE seq=4",
     (), 4),
    ("DELETE FROM access_log WHERE seq=3", (), 3),
    ("UPDATE access_log SET seq = seq + 1000 WHERE seq=2", (), 2),
    ("UPDATE access_log SET hash = ? WHERE seq=6", ("0" * 64,), 6),
])
def test_access_log_tampering_is_found(tmp_path, sql, args, bad):
    path = tmp_path / "store.db"
    _logged_store(path).close()
    _tamper(path, sql, *args)
    store = open_store(path)
    ok, first_bad = store.verify_access_log()
    assert not ok and first_bad == bad
    store.close()


def test_access_log_rejects_update_and_delete(tmp_path):
    store = _logged_store(tmp_path / "store.db")
    store.close()
    conn = sqlite3.connect(tmp_path / "store.db")
    for sql in ("DELETE FROM access_log WHERE seq=1", "UPDATE access_log SET ts=0 WHERE seq=1"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    conn.close()


def test_rewritten_tail_is_caught_by_signed_checkpoint(tmp_path):
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "store.db"
    store = _logged_store(path, signer=key)
    store.close()  # close() signs a checkpoint of the head
    last = sqlite3.connect(path).execute("SELECT max(seq) FROM access_log").fetchone()[0]
    _tamper(path, "DELETE FROM access_log WHERE seq >= ?", last - 1)
    store = open_store(path, signer=key, clock=Clock())
    detail = store.verify_access_log_detail(key.public_key())
    assert not detail.ok and "removed" in detail.reason
    store.close()
    # a checkpoint signed by another key is refused
    path2 = tmp_path / "other.db"
    _logged_store(path2, signer=key).close()
    store = open_store(path2)
    assert store.verify_access_log(key.public_key()) == (True, None)
    assert not store.verify_access_log(Ed25519PrivateKey.generate().public_key())[0]
    store.close()


def test_access_log_survives_reopen(tmp_path):
    path = tmp_path / "store.db"
    _logged_store(path).close()
    store = open_store(path)
    store.search_reads(AUDITOR, pattern="7AB*")
    assert store.verify_access_log() == (True, None)
    assert [e["seq"] for e in store.access_log(AUDITOR)] == list(range(1, 10))
    store.close()
