"""Outage soak on the real store: the receiver is killed and restarted and the link is cut,
repeatedly, while the unit keeps reading. Afterwards every read is on the server exactly once."""

import asyncio
import os
import random
import socket
import subprocess
import sys

import pytest

from appliance.uplink.push import Pusher
from appliance.uplink.receiver.app import create_app
from appliance.uplink.receiver.db import ReceiverDB
from appliance.uplink.sim import make_read, make_unit
from appliance.uplink.tlsutil import make_self_signed
from tests.store_helpers import open_store
from tests.uplink_helpers import FlakyLink, TlsServer


@pytest.mark.slow
async def test_soak_kill_restart_and_cut_link(tmp_path):
    rng = random.Random(7)
    dbpath = tmp_path / "recv.db"
    holder = {"db": ReceiverDB(dbpath)}
    store = open_store(tmp_path / "unit.db", synchronous="NORMAL")
    _, source, signer = make_unit(max_records=7, window=3, outbox=store)
    holder["db"].enroll("unit-1", signer.public_pem())
    srv = TlsServer(lambda: create_app(holder["db"]), tmp_path)
    await srv.start()
    link = FlakyLink(lambda: srv.port)
    await link.start()
    pusher = Pusher(source, f"https://127.0.0.1:{link.port}", srv.pin, backoff_initial_s=0.02,
                    backoff_max_s=0.2, interval_s=0.05, timeout_s=2, rng=rng)
    stop = asyncio.Event()
    push_task = asyncio.create_task(pusher.run(stop))
    produced = []

    async def produce():
        for _ in range(400):
            r = make_read()
            store.add_read(r)
            produced.append(r.read_id)
            await asyncio.sleep(0.003)

    async def chaos():
        for i in range(12):
            await asyncio.sleep(rng.uniform(0.05, 0.2))
            if i % 3 == 0:  # kill the receiver process (new DB handle on restart)
                await srv.stop()
                holder["db"].close()
                await asyncio.sleep(rng.uniform(0.05, 0.2))
                holder["db"] = ReceiverDB(dbpath)
                await srv.start()
            elif i % 3 == 1:  # cut the link mid-flight (acks get lost)
                link.cut()
            else:  # link down for a while: the backlog grows
                link.down = True
                link.cut()
                await asyncio.sleep(rng.uniform(0.1, 0.3))
                link.down = False

    await asyncio.gather(produce(), chaos())
    for _ in range(300):  # then let it drain
        backlog = store.stats()["backlog"]
        if not any(backlog.values()):
            break
        pusher.wake()
        await asyncio.sleep(0.05)
    stop.set()
    await push_task
    await link.stop()
    await srv.stop()
    db = holder["db"]
    stored = db.read_ids("unit-1")
    assert len(stored) == len(set(stored)) == len(produced)  # 0 stored twice
    assert set(stored) == set(produced)  # 0 lost
    assert db.counters.duplicate_records == 0
    assert pusher.failures == 0 and link.cuts >= 4 and pusher.failures_total >= 3
    assert db.unit_state("unit-1")[0] == store.last_acked_seq()
    assert not any(store.stats()["backlog"].values())  # everything marked sent, on ack only
    db.close()
    store.close()


def _spawn_receiver(db, port, cert, key):
    return subprocess.Popen(
        [sys.executable, "-m", "appliance", "receiver", "--db", str(db), "--port", str(port),
         "--tls-cert", str(cert), "--tls-key", str(key)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.getcwd()})


@pytest.mark.slow
async def test_soak_sigkill_receiver_process(tmp_path):
    """The receiver process is SIGKILLed mid-stream (no clean shutdown) and restarted."""
    cert, key, dbpath = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "recv.db"
    pin = make_self_signed(cert, key)
    store = open_store(tmp_path / "unit.db", synchronous="NORMAL")
    _, source, signer = make_unit(max_records=5, window=2, outbox=store)
    db = ReceiverDB(dbpath)
    db.enroll("unit-1", signer.public_pem())
    db.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _spawn_receiver(dbpath, port, cert, key)
    pusher = Pusher(source, f"https://127.0.0.1:{port}", pin, backoff_initial_s=0.05,
                    backoff_max_s=0.3, interval_s=0.05, timeout_s=3)
    stop = asyncio.Event()
    task = asyncio.create_task(pusher.run(stop))
    produced = []
    try:
        for _round in range(3):
            for _ in range(60):
                r = make_read()
                store.add_read(r)
                produced.append(r.read_id)
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.3)
            proc.kill()  # no goodbye: whatever was in flight is cut
            proc.wait()
            for _ in range(40):  # the backlog grows while it is down
                r = make_read()
                store.add_read(r)
                produced.append(r.read_id)
            proc = _spawn_receiver(dbpath, port, cert, key)
        for _ in range(400):
            if not any(store.stats()["backlog"].values()):
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
        proc.terminate()
        proc.wait(timeout=10)
    db = ReceiverDB(dbpath)
    stored = db.read_ids("unit-1")
    assert len(stored) == len(set(stored)) == len(produced) == 300
    assert set(stored) == set(produced)
    assert db.unit_state("unit-1")[0] == store.last_acked_seq()
    assert pusher.failures_total >= 3
    db.close()
    store.close()
