"""Power cuts (SIGKILL of a writer), full disks and damaged files."""

from __future__ import annotations

import os
import random
import select
import signal
import sqlite3
import threading
import time

import pytest
from store_helpers import AUDITOR, INVESTIGATOR, KEK, make_read, open_store

from storage.exc import StoreCorruptError, StoreFullError
from storage.store import Store
from storage.writer import GroupWriter


def _writer(path, fd: int) -> None:
    """Child process: store reads forever from three threads — two through the group-commit
    writer in bursts of 1-8, one with plain add_read — reporting ids only after the call
    returned (that is what "acknowledged" means)."""
    try:
        store = open_store(path, clock=time.time, budget=10**12)  # no eviction here
        writer = GroupWriter(store)

        def grouped() -> None:
            while True:
                burst = [make_read(t=time.time(), crop_bytes=random.randint(500, 20_000))
                         for _ in range(random.randint(1, 8))]
                writer.add(burst)
                os.write(fd, b"".join(r.read_id.encode() + b"\n" for r in burst))

        def single() -> None:
            while True:
                read = make_read(t=time.time(), crop_bytes=random.randint(500, 20_000))
                store.add_read(read)
                os.write(fd, read.read_id.encode() + b"\n")

        for target in (grouped, grouped):
            threading.Thread(target=target, daemon=True).start()
        single()
    finally:
        os._exit(1)


def _kill_once(path, rng: random.Random) -> list[str]:
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        _writer(path, wfd)
    os.close(wfd)
    acked, buf = [], b""
    deadline = time.monotonic() + rng.uniform(0.05, 0.4)
    while time.monotonic() < deadline:
        ready, _, _ = select.select([rfd], [], [], 0.01)
        if ready:
            buf += os.read(rfd, 65536)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    while chunk := os.read(rfd, 65536):
        buf += chunk
    os.close(rfd)
    acked += [line.decode() for line in buf.split(b"\n") if len(line) == 32]
    return acked


@pytest.mark.slow
def test_sigkilled_writer_loses_nothing_acknowledged(tmp_path):
    path = tmp_path / "store.db"
    open_store(path).close()
    rng = random.Random(1234)
    acked: list[str] = []
    for _ in range(50):
        acked += _kill_once(path, rng)
    assert len(acked) > 50
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {r[0] for r in conn.execute("SELECT read_id FROM reads")}
    conn.close()
    assert not set(acked) - stored
    store = open_store(path)
    assert store.verify_access_log() == (True, None)
    assert store.stats()["reads"] == len(stored)
    assert store.get_read(INVESTIGATOR, acked[-1]).read.read_id == acked[-1]
    store.close()


def test_full_disk_gives_clear_error_and_keeps_working(tmp_path):
    conn = sqlite3.connect(tmp_path / "store.db", check_same_thread=False)
    store = open_store(conn)
    first = make_read(crop_bytes=1000)
    store.add_read(first)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 20}")  # a nearly full filesystem
    stored = [first.read_id]
    with pytest.raises(StoreFullError, match="disk is full"):
        for _ in range(200):
            read = make_read(crop_bytes=8000)
            store.add_read(read)
            stored.append(read.read_id)
    assert store.stats()["insert_failures"] == 1
    # the unit keeps running: reads, searches and the access log still work
    assert len(store.search_reads(INVESTIGATOR, plate="7ABC123", limit=1000)) == len(stored)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.execute("PRAGMA max_page_count = 1073741823")  # space freed
    store.add_read(make_read())
    assert store.stats()["reads"] == len(stored) + 1
    assert store.verify_access_log() == (True, None)
    store.close()


def test_garbage_file_is_a_clear_error(tmp_path):
    path = tmp_path / "store.db"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(StoreCorruptError, match="damaged or not a store"):
        open_store(path)
    assert path.stat().st_size == 8192  # left alone for analysis


def test_damaged_pages_are_a_clear_error(tmp_path):
    path = tmp_path / "store.db"
    store = open_store(path)
    for _ in range(40):
        store.add_read(make_read(crop_bytes=4000))
    store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data), page):  # keep the header page, wreck the rest
        data[offset:offset + 64] = os.urandom(64)
    path.write_bytes(bytes(data))
    with pytest.raises(StoreCorruptError):
        store = Store.open(path, KEK, budget_bytes=10**8, retention_after_ack_s=1,
                           max_retention_s=1, period_s=86400)
        store.search_reads(AUDITOR, pattern="7AB*")
        store.stats()
