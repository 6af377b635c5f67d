"""Outage soak: the receiver is killed and restarted and the link is cut, repeatedly, while the
unit keeps reading. Afterwards every read is on the server exactly once."""

import asyncio
import random

import pytest

from appliance.uplink.push import Pusher
from appliance.uplink.receiver.app import create_app
from appliance.uplink.receiver.db import ReceiverDB
from tests.uplink_helpers import FlakyLink, TlsServer, make_read, make_unit


@pytest.mark.slow
async def test_soak_kill_restart_and_cut_link(tmp_path):
    rng = random.Random(7)
    dbpath = tmp_path / "recv.db"
    holder = {"db": ReceiverDB(dbpath)}
    outbox, source, signer = make_unit(max_records=7, window=3)
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
            outbox.add_read(r)
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
        if not outbox.pending and outbox.last_acked_seq() == max(outbox.batches, default=0):
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
    assert db.unit_state("unit-1")[0] == outbox.last_acked_seq()
    db.close()
