"""`alpr run` end to end, as a subprocess: bounded runs, safe mode, SIGTERM with nothing lost."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.unit_e2e_main import NEEDS_MODELS, models_present

needs_models = pytest.mark.skipif(not models_present(), reason=NEEDS_MODELS)

REPO = Path(__file__).resolve().parents[1]


def alpr(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "appliance", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def accounted(s):
    return s["frames_gated"] + s["frames_dropped"] + s["frames_processed"] == s["frames_in"]


def fast_config(tmp_path, extra=""):
    cfg = tmp_path / "alpr.toml"
    cfg.write_text("[camera]\nfps = 120.0\n" + extra)
    return cfg


@needs_models
def test_run_synthetic_max_frames(tmp_path):
    res = alpr("run", "--config", str(fast_config(tmp_path)), "--source", "synthetic",
               "--max-frames", "300", "--data-dir", str(tmp_path / "data"))
    assert res.returncode == 0, res.stderr
    s = last_json(res.stdout)
    assert s["frames_in"] == 300 and s["safe_mode"] is False and accounted(s)
    assert s["source"] == "synthetic" and s["truth_plates"] >= 1 and "reads" in s
    assert (tmp_path / "data").is_dir() and (tmp_path / "data").stat().st_mode & 0o077 == 0


@needs_models
@pytest.mark.slow
def test_run_embedded_default_as_in_the_issue(tmp_path):
    # No --config: the embedded default (auto source -> synthetic here, 15 fps).
    res = alpr("run", "--source", "synthetic", "--max-frames", "300",
               "--data-dir", str(tmp_path / "d"))
    assert res.returncode == 0, res.stderr
    s = last_json(res.stdout)
    assert s["frames_in"] == 300 and s["safe_mode"] is False and accounted(s)


def test_invalid_config_starts_in_safe_mode_and_says_why(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[camera]\nfps = -3\n")
    res = alpr("run", "--config", str(bad), "--max-frames", "10", "--data-dir", str(tmp_path / "d"))
    assert res.returncode == 0
    s = last_json(res.stdout)
    assert s["safe_mode"] is True and "camera.fps" in s["safe_reason"]
    assert s["frames_in"] == 0
    assert "SAFE MODE" in res.stderr and "camera.fps" in res.stderr


@pytest.mark.parametrize("args,needle", [
    (["--source", "folder", "--device", "/nonexistent/frames"], "/nonexistent/frames"),
    (["--source", "opencv", "--device", ""], "camera.device"),
])
def test_unusable_camera_choice_is_safe_mode(tmp_path, args, needle):
    res = alpr("run", *args, "--max-frames", "5", "--data-dir", str(tmp_path / "d"))
    s = last_json(res.stdout)
    assert res.returncode == 0 and s["safe_mode"] is True and needle in s["safe_reason"]


def test_unusable_data_dir_is_safe_mode(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = alpr("run", "--source", "synthetic", "--max-frames", "5",
               "--data-dir", str(blocker / "sub"))
    s = last_json(res.stdout)
    assert s["safe_mode"] is True and "data_dir" in s["safe_reason"]


class NotifyListener:
    def __init__(self, tmp_path):
        self.path = str(tmp_path / "n.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.got: list[str] = []

    def drain(self) -> list[str]:
        while True:
            try:
                self.got.append(self.sock.recv(4096).decode())
            except TimeoutError:
                return self.got

    def wait_for(self, message: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while message not in self.got:
            assert time.monotonic() < deadline, f"no {message} (got {self.got})"
            try:
                self.got.append(self.sock.recv(4096).decode())
            except TimeoutError:
                pass


def start(cmd, tmp_path, listener, env_extra=None):
    env = {**os.environ, "NOTIFY_SOCKET": listener.path, "PYTHONPATH": str(REPO),
           **(env_extra or {})}
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@needs_models
def test_sigterm_shuts_down_cleanly(tmp_path):
    listener = NotifyListener(tmp_path)
    proc = start([sys.executable, "-m", "appliance", "run", "--config", str(fast_config(tmp_path)),
                  "--source", "synthetic", "--data-dir", str(tmp_path / "d")], tmp_path, listener)
    try:
        listener.wait_for("READY=1")
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    listener.wait_for("STOPPING=1", timeout=5)
    s = last_json(out)
    assert s["frames_in"] > 0 and accounted(s) and s["safe_mode"] is False


LAUNCHER = textwrap.dedent('''
    import json, os, sys
    from appliance.cli import build_parser
    from appliance.run import run_command
    from appliance.unit import UnitParts
    from tests.capture_fakes import TrackingRecognizer

    out = sys.argv[1]

    class FileSink:
        """Appends each read id durably, as the store would."""
        def handle(self, read):
            with open(os.path.join(out, "delivered.txt"), "a") as f:
                f.write(read.read_id + "\\n")
                f.flush()
                os.fsync(f.fileno())

    rec = TrackingRecognizer(every=9, delay_s=0.01)
    args = build_parser().parse_args(["run", "--source", "synthetic", "--config", sys.argv[2],
                                      "--data-dir", os.path.join(out, "d")])
    code = run_command(args, UnitParts(recognizer=rec, sink=FileSink()))
    with open(os.path.join(out, "created.json"), "w") as f:
        json.dump({"created": [r.read_id for r in rec.created],
                   "flushed": [r.read_id for r in rec.flushed]}, f)
    sys.exit(code)
''')


def test_sigterm_loses_no_read(tmp_path):
    launcher = tmp_path / "launch.py"
    launcher.write_text(LAUNCHER)
    cfg = fast_config(tmp_path, "[capture]\nmotion_gate = false\nqueue_size = 8\n")
    listener = NotifyListener(tmp_path)
    proc = start([sys.executable, str(launcher), str(tmp_path), str(cfg)], tmp_path, listener)
    try:
        listener.wait_for("READY=1")
        time.sleep(1.0)  # frames in flight and an open track
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    record = json.loads((tmp_path / "created.json").read_text())
    delivered = (tmp_path / "delivered.txt").read_text().split()
    assert record["created"] and delivered == record["created"]  # every read, in order
    assert record["flushed"] and record["flushed"][0] in delivered  # the open track too
    s = last_json(out)
    assert s["reads"] == len(delivered) and s["reads_undelivered"] == 0 and accounted(s)


def test_safe_mode_stays_up_until_sigterm(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[capture]\nbogus_key = 1\n")
    listener = NotifyListener(tmp_path)
    proc = start([sys.executable, "-m", "appliance", "run", "--config", str(bad),
                  "--data-dir", str(tmp_path / "d")], tmp_path, listener)
    try:
        listener.wait_for("READY=1")
        time.sleep(1.0)
        assert proc.poll() is None  # still up: the console can fix the config
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0
    s = last_json(out)
    assert s["safe_mode"] and "capture.bogus_key" in s["safe_reason"] and s["frames_in"] == 0
    assert any(m.startswith("STATUS=SAFE MODE") for m in listener.drain())


def test_signal_handler_sets_stop_while_the_main_thread_holds_its_lock():
    """A signal lands in the main thread, possibly inside `stop.wait()` while it holds the
    Event's internal lock (CPython's `_cond`); setting the event right there deadlocked."""
    import threading

    from appliance.run import _set_from_handler

    stop = threading.Event()
    with stop._cond:  # what the main thread holds inside Event.wait()
        _set_from_handler(stop)  # must return at once, not wait for the lock
        assert not stop.is_set()
    assert stop.wait(5)
