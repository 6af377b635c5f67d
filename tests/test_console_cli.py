"""`alpr console ...`: one-time first admin, training, recovery, and a real HTTPS serve."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from appliance.cli import main
from storage.accounts import AccountStore

ROOT = Path(__file__).resolve().parents[1]


def test_bootstrap_admin_once_with_one_time_password(tmp_path, capsys):
    assert main(["console", "bootstrap-admin", "--data-dir", str(tmp_path),
                 "--username", "Chief", "--organisation", "Example PD"]) == 0
    out = capsys.readouterr().out
    password = re.search(r"one-time password: (\S+)", out).group(1)
    assert "record-training chief" in out
    assert main(["console", "bootstrap-admin", "--data-dir", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err
    accounts = AccountStore.open(tmp_path / "accounts.db")
    try:
        assert accounts.login("chief", password, "cli").ok
        user = accounts.get_user("chief")
        assert user.role == "admin" and user.must_change_password
        assert user.organisation == "Example PD"
    finally:
        accounts.close()


def test_record_training_reset_and_list(tmp_path, capsys):
    main(["console", "bootstrap-admin", "--data-dir", str(tmp_path)])
    capsys.readouterr()
    assert main(["console", "record-training", "admin", "--data-dir", str(tmp_path),
                 "--course", "ALPR policy", "--completed", "2026-01-05",
                 "--expires", "2026-01-01"]) == 1
    assert "expiry" in capsys.readouterr().err
    today = time.strftime("%Y-%m-%d")
    assert main(["console", "record-training", "admin", "--data-dir", str(tmp_path),
                 "--course", "ALPR policy", "--completed", today,
                 "--expires", "2099-01-01"]) == 0
    assert main(["console", "users", "--data-dir", str(tmp_path)]) == 0
    listing = capsys.readouterr().out
    assert "admin" in listing and "trained" in listing and "NOT" not in listing
    assert main(["console", "reset-password", "admin", "--data-dir", str(tmp_path)]) == 0
    new = re.search(r"one-time password for admin: (\S+)", capsys.readouterr().out).group(1)
    accounts = AccountStore.open(tmp_path / "accounts.db")
    assert accounts.login("admin", new, "cli").ok
    accounts.close()
    assert main(["console", "reset-password", "nobody", "--data-dir", str(tmp_path)]) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_answers_https_with_a_generated_dev_certificate(tmp_path):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "appliance", "console", "serve",
                             "--data-dir", str(tmp_path), "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "keys" / "console.crt").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        body = None
        while time.monotonic() < deadline:
            try:
                ctx = ssl.create_default_context(cafile=str(tmp_path / "keys" / "console.crt"))
                with urllib.request.urlopen(f"https://127.0.0.1:{port}/login", context=ctx,
                                            timeout=5) as resp:
                    body = resp.read().decode()
                    headers = resp.headers
                break
            except (OSError, ssl.SSLError):
                time.sleep(0.3)
        assert body is not None, proc.stderr.read() if proc.poll() is not None else "no answer"
        assert "Sign in" in body and headers.get("Server", "") == ""
        assert oct((tmp_path / "keys" / "console.key").stat().st_mode & 0o777) == "0o600"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "SELF-SIGNED" in err and "bootstrap-admin" in err


def test_console_thread_serves_and_stops_twice(tmp_path):
    from console_support import health, hotlist_status, make_config, open_store

    from webadmin.app import create_app
    from webadmin.server import ConsoleThread
    from webadmin.settings import ConfigCameraControl

    config = make_config(tmp_path)
    store, accounts = open_store(tmp_path), AccountStore.open(tmp_path / "accounts.db")
    app = create_app(config, store=store, accounts=accounts, health_provider=health,
                     snapshot_provider=lambda: None, hotlist_status=hotlist_status,
                     camera_control=ConfigCameraControl(config))
    port = _free_port()
    thread = ConsoleThread(app, config, port=port)
    thread.start()
    ctx = ssl.create_default_context(cafile=str(tmp_path / "keys" / "console.crt"))
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/login", context=ctx) as resp:
        assert resp.status == 200
    thread.stop()
    thread.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"https://127.0.0.1:{port}/login", context=ctx, timeout=2)
    accounts.close()
    store.close()


def test_console_service_serves_the_units_health(tmp_path):
    from console_support import make_config, open_store

    from webadmin.policy import load_policy
    from webadmin.service import ConsoleService

    class Unit:  # what appliance.unit.Unit offers the console
        def health(self):
            return {"capture": {"fps": 12.5, "frames_dropped": 0}, "cpu_temp_c": 48.0}

    config = make_config(tmp_path)
    store, accounts = open_store(tmp_path), AccountStore.open(tmp_path / "accounts.db")
    accounts.create_user("tech", "technician", "PD", password="correct horse battery",
                         one_time_password=False)
    accounts.acknowledge_policy("tech", load_policy(config.unit).sha256)
    today = dt.date.today()
    accounts.add_training("tech", "ALPR", today, today + dt.timedelta(days=9), "admin")
    port = _free_port()
    service = ConsoleService(config, store=store, accounts=accounts, port=port)
    service.start(Unit())
    try:
        token, _ = accounts.create_session("tech", "127.0.0.1")
        ctx = ssl.create_default_context(cafile=str(tmp_path / "keys" / "console.crt"))
        req = urllib.request.Request(f"https://127.0.0.1:{port}/api/v1/status",
                                     headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, context=ctx) as resp:
            assert json.load(resp)["health"]["capture"]["fps"] == 12.5
    finally:
        service.stop()
        service.stop()
        accounts.close()
        store.close()


def test_a_console_that_cannot_listen_is_a_warning_not_the_units_end(tmp_path):
    from console_support import make_config, open_store

    from webadmin.service import ConsoleService

    class Unit:
        warnings: list[str]

        def __init__(self):
            self.warnings = []

        def health(self):
            return {}

    config = make_config(tmp_path)
    store, accounts = open_store(tmp_path), AccountStore.open(tmp_path / "accounts.db")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))  # the console's default host
    taken.listen()
    port = taken.getsockname()[1]
    service, unit = ConsoleService(config, store=store, accounts=accounts, port=port), Unit()
    try:
        service.start(unit)  # does not raise: the unit goes on reading plates
        assert service.health() == {"listening": False, "error": service.error}
        assert f"port {port}" in service.error and unit.warnings == [service.error]
        service.stop()  # nothing to stop: safe
    finally:
        taken.close()
        accounts.close()
        store.close()
