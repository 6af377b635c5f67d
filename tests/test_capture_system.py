"""Queue invariants, sd_notify over a real unix datagram socket, watchdog, host probes."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.capture import CaptureLoop, NewestWinsQueue
from appliance.capture.sdnotify import Notifier, Watchdog, watchdog_interval
from appliance.capture.system import (
    ClockStatus,
    clock_synchronised,
    cpu_temperature,
    disk_free,
    temperatures,
)
from appliance.config.capture import CaptureConfig
from appliance.sources import Faults
from appliance.sources.synthetic import SyntheticSource
from inference.recognizer import NullRecognizer
from tests.capture_fakes import ListSink


@given(st.integers(1, 8), st.lists(st.sampled_from(["put", "get"]), max_size=60))
def test_queue_keeps_the_newest_and_counts_every_drop(maxsize, ops):
    q: NewestWinsQueue[int] = NewestWinsQueue(maxsize)
    got, n = [], 0
    for op in ops:
        if op == "put":
            q.put(n)
            n += 1
        else:
            item = q.get(timeout=0)
            if item is not None:
                got.append(item)
        assert len(q) <= maxsize
    q.close()
    while (item := q.get()) is not None:
        got.append(item)
    assert len(got) + q.dropped == n
    assert got == sorted(got)  # order kept
    if n:
        assert got and got[-1] == n - 1  # the newest always survives


def test_queue_after_close_drains_then_returns_none():
    q = NewestWinsQueue(2)
    q.put(1)
    q.close()
    assert q.put(2) == 2 and q.dropped == 1  # late frame after shutdown: dropped, counted
    assert q.get() == 1 and q.get() is None


@pytest.fixture
def notify_socket(tmp_path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    yield str(path), sock
    sock.close()


def drain(sock) -> list[str]:
    """Everything received so far (never waits: the watchdog may be sending all the time)."""
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


def test_notifier_sends_datagrams(notify_socket):
    path, sock = notify_socket
    n = Notifier(path)
    assert n.notify("READY=1") and n.notify("STATUS=capturing")
    assert drain(sock) == ["READY=1", "STATUS=capturing"]
    n.close()


def test_notifier_without_socket_is_a_noop(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    n = Notifier()
    assert not n.enabled and n.notify("READY=1") is False


def test_notifier_survives_a_vanished_socket(tmp_path):
    n = Notifier(str(tmp_path / "gone.sock"))
    assert n.notify("WATCHDOG=1") is False  # logged, not raised


def test_watchdog_interval_from_systemd(monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    assert watchdog_interval() == 10.0
    monkeypatch.delenv("WATCHDOG_USEC")
    assert watchdog_interval(3.0) == 3.0


def test_watchdog_pings_stop_when_frames_stop(notify_socket):
    path, sock = notify_socket
    faults = Faults()
    src = SyntheticSource(160, 120, 100, pace=True, faults=faults)
    src.open()
    loop = CaptureLoop(src, NullRecognizer(), ListSink(),
                       CaptureConfig(motion_gate=False, watchdog_stall_s=0.3))
    dog = Watchdog(Notifier(path), loop.progressing, interval_s=0.03)
    loop.start()
    dog.start()
    try:
        deadline = time.monotonic() + 10
        while dog.pings < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert dog.pings >= 3 and "WATCHDOG=1" in drain(sock)
        faults.stall_after = faults.reads  # the camera hangs from now on
        while dog.missed < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert dog.missed >= 2 and loop.health()["stalled"]
        drain(sock)
        pings = dog.pings
        time.sleep(0.3)
        assert drain(sock) == [] and dog.pings == pings  # silence: systemd will restart us
    finally:
        dog.stop()
        src.close()  # releases the hung read
        loop.stop()


def test_temperatures_from_thermal_zones(tmp_path):
    for i, (kind, milli) in enumerate([("cpu-thermal", "61234"), ("pmic", "45000")]):
        zone = tmp_path / f"thermal_zone{i}"
        zone.mkdir()
        (zone / "type").write_text(kind + "\n")
        (zone / "temp").write_text(milli + "\n")
    (tmp_path / "thermal_zone9").mkdir()  # unreadable zone: ignored
    assert temperatures(tmp_path) == {"cpu-thermal": 61.2, "pmic": 45.0}
    assert cpu_temperature(tmp_path) == 61.2
    assert cpu_temperature(tmp_path / "none") is None


def test_disk_free_of_a_missing_path_uses_its_parent(tmp_path):
    d = disk_free(tmp_path / "not" / "yet")
    assert d["free_bytes"] > 0 and 0 < d["free_fraction"] <= 1


def test_clock_synchronised_flag_and_cache(tmp_path):
    flag = tmp_path / "synchronized"
    flag.touch()
    assert clock_synchronised(flag) is True
    calls = []
    status = ClockStatus(ttl_s=60, probe=lambda: calls.append(1) or True)
    assert status() and status() and len(calls) == 1
    broken = ClockStatus(probe=lambda: 1 / 0)
    assert broken() is False  # a failing probe never stops capture


def test_watchdog_thread_stops(notify_socket):
    path, _ = notify_socket
    dog = Watchdog(Notifier(path), lambda: True, interval_s=0.01)
    dog.start()
    dog.stop()
    assert not any(t.name == "alpr-watchdog" and t.is_alive() for t in threading.enumerate()
                   if t is dog._thread)
