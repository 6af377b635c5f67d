"""Fleet bench: N simulated units push signed batches to one `alpr receiver` over TLS on loopback.

The receiver runs as its own process (`python -m appliance receiver`). Each unit has its own
Ed25519 key and outbox; batches (100 reads) are sealed before the clock starts so the figure is
the receiver's: reads verified and stored per second, and the p95 acknowledgement latency seen by
the units. Baseline, same run: the receiver's verify+store code called in-process (no HTTP).
Bounded: --units <= 200, --reads-per-unit <= 5000, --max-seconds.

    python bench/fleet.py --units 50 --reads-per-unit 400
Last stdout line: {"units", "reads_per_s", "ack_p95_ms", "lost", "duplicated", ...}
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from appliance.hotlist.manager import HotlistManager  # noqa: E402
from appliance.uplink.push import Pusher  # noqa: E402
from appliance.uplink.receiver.db import ReceiverDB  # noqa: E402
from appliance.uplink.sim import make_read, make_unit  # noqa: E402
from appliance.uplink.tlsutil import make_self_signed  # noqa: E402

BATCH = 100


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_units(n: int, reads: int) -> list[dict]:
    units = []
    for i in range(n):
        outbox, source, signer = make_unit(f"unit-{i:03d}", max_records=BATCH, window=10**6)
        ids = []
        for _ in range(reads):
            r = make_read()
            outbox.add_read(r)
            ids.append(r.read_id)
        units.append({"id": f"unit-{i:03d}", "source": source, "signer": signer, "ids": ids,
                      "batches": source.unacked(10**6)})
    return units


def baseline(tmp: Path, units: list[dict]) -> float:
    """Reads/s of in-process verify+store (the receiver's ceiling without HTTP/TLS)."""
    db = ReceiverDB(tmp / "baseline.db")
    sample = units[: max(1, len(units) // 5)]
    for u in sample:
        db.enroll(u["id"], u["signer"].public_pem())
    t0 = time.perf_counter()
    n = 0
    for u in sample:
        for _, body in u["batches"]:
            n += db.ingest(body).reads
    dt = time.perf_counter() - t0
    db.close()
    return n / dt


async def push_unit(u: dict, url: str, pin: str, lat: list[float], deadline: float) -> None:
    pusher = Pusher(u["source"], url, pin)
    conn = aiohttp.TCPConnector(ssl=pusher.fingerprint, limit=1)
    async with aiohttp.ClientSession(connector=conn) as session:
        for seq, body in u["batches"]:
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                try:
                    await pusher.post(session, seq, body)
                except (aiohttp.ClientError, OSError):
                    await asyncio.sleep(0.05)
                    continue
                lat.append(time.perf_counter() - t)
                u["source"].ack(seq)
                break


async def fleet(units: list[dict], url: str, pin: str, max_s: float,
                alert_unit: dict) -> tuple[float, list, list]:
    lat: list[float] = []
    t0 = time.perf_counter()
    fleet_task = asyncio.gather(*(push_unit(u, url, pin, lat, t0 + max_s) for u in units))
    alerts = await alert_run(alert_unit, url, pin, fleet_task)
    await fleet_task
    return time.perf_counter() - t0, lat, alerts


def make_alert_unit(tmp: Path) -> dict:
    """A unit with a real signed hotlist: read -> match -> alert stored -> pusher woken."""
    key = Ed25519PrivateKey.generate()
    (tmp / "hl").mkdir()
    data = b"plate,category\n" + b"".join(b"HOT%04d,stolen-vehicle\n" % i for i in range(1000))
    (tmp / "hl" / "list.csv").write_bytes(data)
    (tmp / "hl" / "list.csv.sig").write_bytes(base64.b64encode(key.sign(data)))
    outbox, source, signer = make_unit("unit-alert", max_records=BATCH)
    mgr = HotlistManager(tmp / "hl", key.public_key(), store=outbox)
    mgr.reload()
    return {"id": "unit-alert", "outbox": outbox, "source": source, "signer": signer,
            "hotlists": mgr}


async def alert_run(u: dict, url: str, pin: str, busy: asyncio.Future, n: int = 10) -> list:
    """Time from a read reaching the hotlist check to the server acknowledging its alert,
    while the rest of the fleet loads the receiver. The link is up; the pusher idles 60 s."""
    pusher = Pusher(u["source"], url, pin, interval_s=60)
    u["hotlists"].on_alert = lambda _a: pusher.wake()
    stop = asyncio.Event()
    task = asyncio.create_task(pusher.run(stop))
    await asyncio.sleep(0.05)
    out = []
    for i in range(n):
        for _ in range(20):  # ordinary reads in the outbox too
            u["outbox"].add_read(make_read())
        read = make_read(f"H0T{i:04d}")  # an OCR look-alike of HOT000i
        t = time.perf_counter()
        u["outbox"].add_read(read)
        alert = u["hotlists"].check(read)[0]
        while ("alert", alert.alert_id) not in u["outbox"].uplinked:
            await asyncio.sleep(0.002)
        out.append(time.perf_counter() - t)
        if busy.done():
            await asyncio.sleep(0.05)
    stop.set()
    await task
    return out


async def wait_up(url: str, pin: str) -> None:
    conn = aiohttp.TCPConnector(ssl=aiohttp.Fingerprint(bytes.fromhex(pin)))
    async with aiohttp.ClientSession(connector=conn) as s:
        for _ in range(200):
            try:
                async with s.get(url + "/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise RuntimeError("receiver did not start")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=50, choices=range(1, 201), metavar="1-200")
    ap.add_argument("--reads-per-unit", type=int, default=400, choices=range(1, 5001),
                    metavar="1-5000")
    ap.add_argument("--max-seconds", type=float, default=120)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)  # hotlist hits log at WARNING; keep stdout clean
    tmp = Path(tempfile.mkdtemp(prefix="alpr-fleet-"))
    t = time.perf_counter()
    units = make_units(args.units, args.reads_per_unit)
    print(f"sealed {sum(len(u['batches']) for u in units)} batches for {args.units} units "
          f"in {time.perf_counter() - t:.1f} s")
    base = baseline(tmp, units)
    db_path = tmp / "receiver.db"
    db = ReceiverDB(db_path)
    alert_unit = make_alert_unit(tmp)
    for u in [*units, alert_unit]:
        db.enroll(u["id"], u["signer"].public_pem())
    db.close()
    pin = make_self_signed(tmp / "c.pem", tmp / "k.pem")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "appliance", "receiver", "--db", str(db_path),
                             "--port", str(port), "--tls-cert", str(tmp / "c.pem"),
                             "--tls-key", str(tmp / "k.pem")], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL)
    url = f"https://127.0.0.1:{port}"
    try:
        asyncio.run(wait_up(url, pin))
        wall, lat, alerts = asyncio.run(fleet(units, url, pin, args.max_seconds, alert_unit))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    db = ReceiverDB(db_path)
    sent = {(u["id"], rid) for u in units for rid in u["ids"]}
    rows = db.conn.execute("SELECT unit_id, read_id FROM reads WHERE unit_id != ?",
                           ("unit-alert",)).fetchall()
    stored = set(rows)
    lost = len(sent - stored)
    duplicated = len(rows) - len(stored)
    db.close()
    rate = len(stored) / wall
    p95 = sorted(lat)[int(0.95 * (len(lat) - 1))] * 1e3 if lat else float("nan")
    print(f"units: {args.units}  reads: {len(sent)}  wall: {wall:.2f} s")
    print(f"receiver (HTTPS, separate process): {rate:.0f} reads/s verified and stored "
          f"(target >= 5000)")
    print(f"ack latency: median {statistics.median(lat) * 1e3:.1f} ms, p95 {p95:.1f} ms")
    print(f"baseline in-process verify+store: {base:.0f} reads/s  ->  ratio {rate / base:.2f}")
    print(f"lost: {lost}  duplicated: {duplicated}")
    amed, amax = statistics.median(alerts) * 1e3, max(alerts) * 1e3
    print(f"hotlist hit -> acknowledged by the server (under fleet load): median {amed:.0f} ms, "
          f"max {amax:.0f} ms over {len(alerts)} alerts (target <= 2000 ms)")
    print(json.dumps({"units": args.units, "reads_per_s": round(rate), "ack_p95_ms": round(p95, 1),
                      "lost": lost, "duplicated": duplicated, "reads": len(sent),
                      "batch_reads": BATCH, "baseline_inprocess_reads_per_s": round(base),
                      "ratio_vs_inprocess": round(rate / base, 2),
                      "alert_latency_ms_median": round(amed), "alert_latency_ms_max": round(amax)}))


if __name__ == "__main__":
    main()
