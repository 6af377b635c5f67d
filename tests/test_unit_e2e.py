"""`alpr run` as the real unit, end to end, each run its own process: reads in the encrypted
store, hotlist alert and reads at a real TLS receiver, SIGTERM with nothing lost, safe mode
still serving the console. Reads come from tests.unit_e2e_main's ground-truth recognizer (the
OCR model is not shipped yet); one test runs the real pipeline when its models are present."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from appliance.config import AlprConfig
from appliance.uplink.receiver.db import ReceiverDB
from provisioning import keys
from storage.store import Store
from storage.types import AccessContext
from tests.unit_e2e_main import NEEDS_MODELS, first_plate, models_present
from tests.uplink_helpers import receiver_server

REPO = Path(__file__).resolve().parents[1]
AUDITOR = AccessContext(user="aud", organisation="Development Agency", role="auditor",
                        purpose="e2e test")


def start(args: list[str], *, fake: bool = True, paced: bool = False) -> subprocess.Popen:
    cmd = ([sys.executable, "-m", "tests.unit_e2e_main", "paced" if paced else "fast"] if fake
           else [sys.executable, "-m", "appliance", "run"])
    return subprocess.Popen(cmd + args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, dict, str]:
    out, err = proc.communicate(timeout=timeout)
    lines = out.strip().splitlines()
    return proc.returncode, (json.loads(lines[-1]) if lines else {}), err


def stored_reads(data: Path) -> list:
    kek = keys.load_kek(data)
    with Store.open(data / "store.db", kek, budget_bytes=1 << 30, retention_after_ack_s=86400,
                    max_retention_s=86400 * 30, period_s=86400) as store:
        assert store.stats()["reads"] >= 0
        return store.search_reads(AUDITOR, limit=10_000)


def assert_encrypted_at_rest(data: Path, plates: list[str]) -> None:
    blobs = b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file())
    for plate in plates:
        assert plate.encode() not in blobs, f"{plate} in clear text under {data}"


def test_bounded_run_stores_every_read_encrypted(tmp_path):
    data = tmp_path / "data"
    rc, s, err = finish(start(["--source", "synthetic", "--max-frames", "120",
                               "--data-dir", str(data), "--no-console"]))
    assert rc == 0, err
    assert s["safe_mode"] is False and s["reads"] >= 2 and s["reads_undelivered"] == 0
    assert s["reads_stored"] == s["reads"] == s["truth_plates"]
    assert "DEVELOPMENT keys" in err  # nothing was provisioned: loud
    reads = stored_reads(data)
    assert len(reads) == s["reads"]
    assert sorted(r.read.plate for r in reads) == sorted(s["read_plates"])
    assert_encrypted_at_rest(data, s["read_plates"])


@pytest.mark.skipif(not models_present(), reason=NEEDS_MODELS)
@pytest.mark.slow
def test_real_pipeline_bounded_run(tmp_path):
    data = tmp_path / "data"
    rc, s, err = finish(start(["--source", "synthetic", "--max-frames", "120",
                               "--data-dir", str(data), "--no-console"], fake=False), 300)
    assert rc == 0 and s["safe_mode"] is False, err
    assert len(stored_reads(data)) == s["reads"] == s["reads_stored"]


def test_sigterm_mid_run_loses_nothing(tmp_path):
    data = tmp_path / "data"
    proc = start(["--source", "synthetic", "--data-dir", str(data), "--no-console"], paced=True)
    # SIGTERM once the first read is stored (its period key is created then), not after a fixed
    # time: on a loaded machine the start-up alone can take seconds
    stderr: list[str] = []
    stored = threading.Event()

    def pump():
        for line in proc.stderr:
            stderr.append(line)
            if "created period data key" in line:
                stored.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    assert stored.wait(120), "".join(stderr)
    time.sleep(1.0)  # paced at 15 fps: more frames, a vehicle may be in view
    proc.send_signal(signal.SIGTERM)
    out = proc.stdout.read()
    rc = proc.wait(60)
    reader.join(10)
    err = "".join(stderr)
    s = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    assert rc == 0, err
    assert s["frames_in"] > 30 and s["reads"] >= 1 and s["reads_undelivered"] == 0
    assert len(stored_reads(data)) == s["reads"] == s["reads_stored"]


class Receiver:
    """The reference receiver on 127.0.0.1 (port 0, self-signed) on its own event loop."""

    def __init__(self, tmp_path):
        self.db = ReceiverDB(tmp_path / "receiver.db")
        self.server = receiver_server(self.db, tmp_path)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(30)
        return self

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.db.close()


def test_reads_and_hotlist_alert_reach_the_receiver(tmp_path):
    data = tmp_path / "data"
    keys.ensure_dev_keys(data, "e2e-unit")  # the dev agency's hotlist key signs the list
    plate = first_plate()
    csv = (f"# version: e2e.1\nplate,state,category,source,expires,reference\n"
           f"{plate},,stolen vehicle,CHP,2099-01-01,INC-1\n").encode()
    (data / "hotlists").mkdir()
    agency = keys.load_private_pem(data / "dev-agency" / "hotlist.key")
    (data / "hotlists" / "stolen.csv").write_bytes(csv)
    (data / "hotlists" / "stolen.csv.sig").write_bytes(base64.b64encode(agency.sign(csv)))
    with Receiver(tmp_path) as rx:
        rx.db.enroll("e2e-unit", (data / "keys" / "identity.pub").read_bytes())
        cfg = tmp_path / "alpr.toml"
        cfg.write_text(f'[unit]\nunit_id = "e2e-unit"\n[uplink]\nenabled = true\n'
                       f'server_url = "{rx.server.url}"\nserver_cert_sha256 = "{rx.server.pin}"\n'
                       f'batch_interval_s = 0.5\nhotlist_poll_s = 0\n')
        rc, s, err = finish(start(["--config", str(cfg), "--source", "synthetic",
                                   "--max-frames", "120", "--data-dir", str(data),
                                   "--no-console"]))
        assert rc == 0 and s["safe_mode"] is False, err
        assert plate in s["read_plates"]
        stored = sorted(r.read.read_id for r in stored_reads(data))
        assert sorted(rx.db.read_ids("e2e-unit")) == stored
        alerts = rx.db.alerts("e2e-unit")
        assert len(alerts) == 1 and plate in json.dumps(alerts[0]), err
        assert rx.db.count("reads", "e2e-unit") == s["reads"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def technician_token(data: Path) -> str:
    """A trained technician with a live session, straight in the unit's account store."""
    import datetime as dt

    from webadmin.policy import load_policy
    from webadmin.server import open_accounts

    keys.ensure_dev_keys(data)
    cfg = AlprConfig.model_validate({"unit": {"data_dir": str(data)}})
    accounts = open_accounts(cfg, keys.load_kek(data))
    try:
        accounts.create_user("tech1", "technician", cfg.unit.agency,
                             password="correct horse battery staple 1", one_time_password=False)
        accounts.acknowledge_policy("tech1", load_policy(cfg.unit).sha256)
        today = dt.date.today()
        accounts.add_training("tech1", "ALPR policy and use", today, today + dt.timedelta(days=30),
                              recorded_by="test")
        return accounts.create_session("tech1", "127.0.0.1")[0]
    finally:
        accounts.close()


def get(url: str, ctx: ssl.SSLContext, token: str | None = None):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
        return resp.status, resp.read()


def test_safe_mode_still_serves_the_console(tmp_path):
    bad, data = tmp_path / "bad.toml", tmp_path / "data"
    bad.write_text("[camera]\nfps = -3\n")
    token = technician_token(data)
    port = free_port()
    proc = start(["--config", str(bad), "--data-dir", str(data), "--console-port", str(port)],
                 fake=False)
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # the unit's self-signed cert
    status, health, deadline = None, None, time.monotonic() + 60
    try:
        while status is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                status, _ = get(f"https://127.0.0.1:{port}/login", ctx)
            except OSError:
                time.sleep(0.3)
        if status == 200:
            health = json.loads(get(f"https://127.0.0.1:{port}/api/v1/status", ctx, token)[1])
    finally:
        proc.send_signal(signal.SIGTERM)
        rc, s, err = finish(proc, 60)
    assert status == 200, err
    h = health["health"]
    assert h["safe_mode"] is True and "camera.fps" in h["safe_reason"] and h["store"]["reads"] == 0
    assert rc == 0 and s["safe_mode"] is True and "camera.fps" in s["safe_reason"]
    assert "SAFE MODE" in err and "camera.fps" in err
