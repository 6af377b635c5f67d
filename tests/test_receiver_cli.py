"""`alpr receiver` as a real process over TLS, and its registry commands; `alpr hotlist`."""

import asyncio
import os
import signal
import socket
import subprocess
import sys

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization

from appliance.cli import main
from appliance.uplink.push import Pusher
from appliance.uplink.receiver.db import ReceiverDB
from appliance.uplink.sim import make_read, make_unit
from tests.test_hotlist_lists import CSV, KEY, write_signed


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_cert_enroll_units(tmp_path, capsys):
    assert main(["receiver", "make-cert", "--cert", str(tmp_path / "c.pem"),
                 "--key", str(tmp_path / "k.pem")]) == 0
    pin = capsys.readouterr().out.strip()
    assert len(pin) == 64 and oct((tmp_path / "k.pem").stat().st_mode)[-3:] == "600"
    _, _, signer = make_unit()
    (tmp_path / "unit.pub").write_bytes(signer.public_pem())
    db = str(tmp_path / "r.db")
    assert main(["receiver", "enroll", "--db", db, "--unit-id", "u7",
                 "--pubkey", str(tmp_path / "unit.pub")]) == 0
    (tmp_path / "junk.pub").write_text("hello")
    assert main(["receiver", "enroll", "--db", db, "--unit-id", "u8",
                 "--pubkey", str(tmp_path / "junk.pub")]) == 1
    assert main(["receiver", "units", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "u7\tactive" in out and "u8" not in out
    assert main(["receiver", "revoke", "--db", db, "--unit-id", "u7"]) == 0
    assert main(["receiver", "revoke", "--db", db, "--unit-id", "nope"]) == 1
    assert main(["receiver"]) == 2  # no TLS material: refuses to serve plain HTTP


@pytest.mark.slow
async def test_receiver_process_accepts_pushes_and_reports_metrics(tmp_path):
    cert, key, db = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "r.db"
    assert main(["receiver", "make-cert", "--cert", str(cert), "--key", str(key)]) == 0
    outbox, source, signer = make_unit(max_records=20)
    rdb = ReceiverDB(db)
    rdb.enroll("unit-1", signer.public_pem())
    rdb.close()
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "appliance", "receiver", "--db", str(db),
                             "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        banner = proc.stdout.readline()
        assert "pin=" in banner
        pin = banner.split("pin=")[1].strip()
        reads = [make_read() for _ in range(50)]
        for r in reads:
            outbox.add_read(r)
        pusher = Pusher(source, f"https://127.0.0.1:{port}", pin)
        conn = aiohttp.TCPConnector(ssl=pusher.fingerprint)
        async with aiohttp.ClientSession(connector=conn) as s:
            for _ in range(100):  # wait for the listener
                try:
                    async with s.get(f"https://127.0.0.1:{port}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientConnectorError:
                    await asyncio.sleep(0.05)
            assert await pusher.push_pending(s) == 3
            async with s.get(f"https://127.0.0.1:{port}/metrics") as r:
                text = await r.text()
                assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert 'alpr_receiver_batches_total{result="stored"} 3' in text
    assert "alpr_receiver_reads_stored_total 50" in text
    assert "alpr_receiver_units 1" in text and 'quantile="0.95"' in text
    rdb = ReceiverDB(db)
    assert rdb.count("reads", "unit-1") == 50
    rdb.close()


def test_hotlist_commands(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "trust").mkdir(parents=True)
    (data / "trust" / "hotlist.pub").write_bytes(KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    good = write_signed(tmp_path / "state.csv", CSV)
    bad = write_signed(tmp_path / "bad.csv", b"plate,category\nAB,wanted\nXYZ123,parking\n")
    dd = ["--data-dir", str(data)]
    assert main(["hotlist", "check", str(good), *dd]) == 0
    assert "OK version 2026-11-29.1, 5 entries" in capsys.readouterr().out
    assert main(["hotlist", "check", str(bad), *dd]) == 1
    err = capsys.readouterr().err
    assert "REFUSED" in err and "row 2: plate" in err and "row 3: category" in err
    assert main(["hotlist", "install", str(bad), *dd]) == 1
    assert "REFUSED, nothing installed" in capsys.readouterr().err
    assert main(["hotlist", "install", str(good), *dd]) == 0
    assert (data / "hotlists" / "state.csv.sig").exists()
    capsys.readouterr()
    assert main(["hotlist", "show", *dd]) == 0
    assert '"state.csv@2026-11-29.1"' in capsys.readouterr().out
    assert main(["hotlist", "match", "7A8C123", *dd]) == 0
    out = capsys.readouterr().out
    assert "confusion\t7A8C123\t7ABC123\tstolen-vehicle" in out and "UNVERIFIED" in out
    assert main(["hotlist", "match", "7A8C123", "--tolerance", "0", *dd]) == 0
    assert capsys.readouterr().out.strip() == "no match"


def test_hotlist_commands_name_a_missing_or_bad_key(tmp_path, capsys):
    bad_key = tmp_path / "hotlist.pub"
    bad_key.write_bytes(b"not a key")
    for extra, what in ((["--data-dir", str(tmp_path / "none")], "No such file"),
                        (["--pubkey", str(bad_key)], str(bad_key))):
        with pytest.raises(SystemExit) as stop:
            main(["hotlist", "show", *extra])
        assert str(stop.value).startswith("error: hotlist key") and what in str(stop.value)


def test_pull_command_reports_an_unreachable_unit(tmp_path, capsys):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = tmp_path / "server.key"
    key.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    _, _, signer = make_unit()
    db = ReceiverDB(tmp_path / "r.db")
    db.enroll("u1", signer.public_pem())
    db.close()
    rc = main(["receiver", "pull", "--db", str(tmp_path / "r.db"), "--unit-id", "u1",
               "--unit-url", f"https://127.0.0.1:{_free_port()}", "--pin", "ab" * 32,
               "--server-key", str(key)])
    assert rc == 1 and "pull failed" in capsys.readouterr().err
