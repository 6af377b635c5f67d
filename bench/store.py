"""Store benchmark: encrypted vs plain inserts, partial-plate search over 1M reads, eviction cost.

    python bench/store.py [--inserts 3000] [--batch 64] [--search-reads 1000000]
                          [--search-db /tmp/alpr-search-1m.db] [--evict-sizes 1000,10000,50000]

Real files in a temporary directory. Inserts compare the store with plain sqlite-utils on the
same rows, the same pragmas (page size, WAL, synchronous=FULL) and the same batching: one commit
per read, then `--batch` reads per commit; plus the GroupWriter fed by 4 threads. Medians of
interleaved rounds are quoted. `--search-db` keeps the 1M-read store for the next run (building
it takes minutes). The last stdout line is one JSON object; "enc_inserts_per_s",
"plain_inserts_per_s" and "ratio" are the batched figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlite_utils  # noqa: E402

from inference.types import Candidate, Read  # noqa: E402
from storage.codec import dumps, read_meta  # noqa: E402
from storage.keys import load_or_create_dev_kek  # noqa: E402
from storage.store import Store  # noqa: E402
from storage.types import AccessContext  # noqa: E402
from storage.writer import GroupWriter  # noqa: E402

KEK = os.urandom(32)
DAY = 86400.0
CTX = AccessContext("bench", "Bench PD", "investigator", "benchmark", "B-1")
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
DIGITS = "0123456789"


def plate(rng: random.Random) -> str:
    """California-like 1ABC234."""
    return (rng.choice("123456789") + "".join(rng.choices(LETTERS, k=3))
            + "".join(rng.choices(DIGITS, k=3)))


def make_read(rng: random.Random, t: float, crop: bytes | None) -> Read:
    p = plate(rng)
    return Read(uuid.UUID(int=rng.getrandbits(128)).hex, p, 0.9, (Candidate(p, 0.9, "US-CA"),),
                t, t + 1, 1.0, 2.0, True, 4, "approaching", (1.0, 2.0, 3.0, 4.0), "US-CA",
                crop, None, {"model": "bench"})


def open_store(path: Path, budget: int = 2**62, clock=time.time, sync: str = "FULL",
               kek: bytes = KEK) -> Store:
    return Store.open(path, kek, budget_bytes=budget, retention_after_ack_s=3 * DAY,
                      max_retention_s=30 * DAY, period_s=DAY, clock=clock, synchronous=sync)


def _plain_db(path: Path, page_size: int) -> sqlite_utils.Database:
    """The baseline: plain sqlite-utils, with the store's page size, WAL and synchronous=FULL."""
    db = sqlite_utils.Database(path)
    db.execute(f"PRAGMA page_size={page_size}")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    table = db["reads"]
    table.create({"read_id": str, "plate": str, "captured": float, "meta": str, "crop": bytes},
                 pk="read_id")
    table.create_index(["plate"])
    return db


def _rate(n: int, work) -> float:
    t0 = time.perf_counter()
    work()
    return n / (time.perf_counter() - t0)


def bench_inserts(tmp: Path, n: int, batch: int, rounds: int = 6) -> dict[str, float]:
    """Median rates over interleaved rounds (the disk is shared: alternate to share its mood).

    Like with like: the same Read rows, the same pragmas (page size, WAL, synchronous=FULL) and
    the same batching on both sides — one commit per read, then one commit per `batch` reads.
    """
    rng = random.Random(1)
    crop = b"\xff\xd8\xff\xe0" + os.urandom(20_000 - 4)
    reads = [make_read(rng, 1_700_000_000 + i, crop) for i in range(2 * n)]
    rows = [{"read_id": r.read_id, "plate": r.plate, "captured": r.first_seen_wall,
             "meta": dumps(read_meta(r)).decode(), "crop": r.crop_jpeg} for r in reads]
    store = open_store(tmp / "enc.db")
    page_size = store._database.conn.execute("PRAGMA page_size").fetchone()[0]
    db = _plain_db(tmp / "plain.db", page_size)
    table = db["reads"]
    rates: dict[str, list[float]] = {"enc_row": [], "plain_row": [], "enc_batch": [],
                                     "plain_batch": []}
    row_n, step = n // 5, n // rounds  # per-row commits are fsync-bound: fewer of them
    for k in range(rounds):
        one = slice(k * row_n // rounds, (k + 1) * row_n // rounds)
        many = slice(n + k * step, n + (k + 1) * step)

        def enc_row(part=reads[one]):
            for r in part:
                store.add_read(r)

        def plain_row(part=rows[one]):
            for row in part:
                with db.conn:
                    table.insert(row)

        def enc_batch(part=reads[many]):
            for i in range(0, len(part), batch):
                store.add_reads(part[i:i + batch])

        def plain_batch(part=rows[many]):
            for i in range(0, len(part), batch):
                with db.conn:
                    table.insert_all(part[i:i + batch])

        count = {"enc_row": one.stop - one.start, "plain_row": one.stop - one.start,
                 "enc_batch": step, "plain_batch": step}
        for name, work in (("enc_row", enc_row), ("plain_row", plain_row),
                           ("enc_batch", enc_batch), ("plain_batch", plain_batch)):
            rates[name].append(_rate(count[name], work))
    store.close()
    db.close()
    for name, values in rates.items():
        print(f"  {name} per round {[round(x) for x in values]}", file=sys.stderr)
    return {name: statistics.median(values) for name, values in rates.items()}


def bench_writer(tmp: Path, n: int, threads: int = 4) -> dict[str, float]:
    """GroupWriter with `threads` producers each storing single reads: what group commit makes
    of concurrent one-read calls (every call returns only after its commit)."""
    rng = random.Random(3)
    crop = b"\xff\xd8\xff\xe0" + os.urandom(20_000 - 4)
    reads = [make_read(rng, 1_700_000_000 + i, crop) for i in range(n)]
    store = open_store(tmp / "writer.db")
    writer = GroupWriter(store)

    def produce(part: list) -> None:
        for r in part:
            writer.add(r)

    workers = [threading.Thread(target=produce, args=(reads[i::threads],))
               for i in range(threads)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    rate = n / (time.perf_counter() - t0)
    store.close()
    return {"rate": rate, **writer.stats.as_dict()}


PATTERNS = ("7AB*", "*123", "?ABC12?", "1*9", "7*", "??A*", "*A*")


def _search_store(path: Path, n: int) -> Store:
    """A store of n reads (no images) over 10 daily periods; reused when `path` has them."""
    clock = [1_700_000_000.0 + 10 * DAY]
    kek_file = path.with_name(path.name + ".kek")  # a reused store needs the key it was built with
    stale = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    if not kek_file.exists():
        for f in stale:
            f.unlink(missing_ok=True)
    kek = load_or_create_dev_kek(kek_file)
    store = open_store(path, clock=lambda: clock[0], sync="NORMAL", kek=kek)
    if store.stats()["reads"] == n:
        print(f"reusing {path} ({n} reads)", file=sys.stderr)
        return store
    store.close()
    for f in stale:
        f.unlink(missing_ok=True)
    store = open_store(path, clock=lambda: clock[0], sync="NORMAL", kek=kek)
    rng = random.Random(2)
    chunk, t_build = 20_000, time.perf_counter()
    for i in range(0, n, chunk):
        clock[0] = 1_700_000_000.0 + DAY * (10 * i // n)
        store.add_reads(make_read(rng, clock[0] + j, None) for j in range(min(chunk, n - i)))
    build_s = time.perf_counter() - t_build
    clock[0] = 1_700_000_000.0 + 10 * DAY
    print(f"built {n} reads in {build_s:.0f} s ({n / build_s:.0f}/s bulk)", file=sys.stderr)
    return store


def bench_search(path: Path, n: int, repeats: int = 5) -> dict[str, float]:
    """Median times of pattern (and exact) searches over n reads, limit 1000."""
    store = _search_store(path, n)
    times: dict[str, list[float]] = {}
    for query in [{"pattern": p} for p in PATTERNS] + [{"plate": "7ABC123"}]:
        name = query.get("pattern") or "exact"
        for _ in range(repeats):
            t0 = time.perf_counter()
            found = store.search_reads(CTX, limit=1000, **query)
            times.setdefault(name, []).append(time.perf_counter() - t0)
        print(f"  search {name}: {statistics.median(times[name]) * 1000:.1f} ms median, "
              f"{len(found)} hits", file=sys.stderr)
    store.close()
    return {k: statistics.median(v) for k, v in times.items()}


def bench_evict(tmp: Path, size: int, rounds: int = 7, per_round: int = 50) -> float:
    """Median ms to evict one read from a store holding `size` reads (oldest unsent first)."""
    path = tmp / f"evict{size}.db"
    rng = random.Random(size)
    crop = os.urandom(1000)
    store = open_store(path, sync="NORMAL")
    for i in range(0, size, 5000):
        store.add_reads(make_read(rng, 1_700_000_000 + i + j, crop)
                        for j in range(min(5000, size - i)))
    per_read = store.stats()["bytes"] / size
    store.close()
    samples = []
    for _ in range(rounds):
        probe = open_store(path)
        budget = int(probe.stats()["bytes"] - per_round * per_read)
        probe.close()
        store = open_store(path, budget=budget)
        t0 = time.perf_counter()
        counts = store.enforce_budget()
        samples.append((time.perf_counter() - t0) * 1000 / max(1, sum(counts.values())))
        store.close()
    return statistics.median(samples)


def _report_inserts(ins: dict[str, float], writer: dict[str, float], batch: int) -> None:
    for mode, label in (("row", "one commit per read"), ("batch", f"{batch} reads per commit")):
        enc, plain = ins[f"enc_{mode}"], ins[f"plain_{mode}"]
        print(f"inserts (20 KB crop, WAL, synchronous=FULL, {label}): encrypted {enc:.0f}/s, "
              f"plain sqlite-utils {plain:.0f}/s, ratio {enc / plain:.2f}")
    print(f"group commit, 4 threads storing single reads: {writer['rate']:.0f}/s "
          f"(mean {writer['mean_batch']} reads per commit)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inserts", type=int, default=3000, help="reads per side, batched")
    ap.add_argument("--batch", type=int, default=64, help="reads per commit, batched mode")
    ap.add_argument("--search-reads", type=int, default=1_000_000, help="0 skips the search")
    ap.add_argument("--search-db", type=Path,
                    help="keep the search store here and reuse it on the next run")
    ap.add_argument("--evict-sizes", default="1000,10000,50000")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)  # eviction warnings are expected here
    sizes = [int(s) for s in args.evict_sizes.split(",")]
    search: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        ins = bench_inserts(tmp, args.inserts, args.batch)
        writer = bench_writer(tmp, args.inserts // 2)
        _report_inserts(ins, writer, args.batch)
        evict = {s: bench_evict(tmp, s) for s in sizes}
        for s, ms in evict.items():
            print(f"eviction with {s} reads stored: {ms:.3f} ms per read evicted (median)")
        ratio = evict[sizes[-1]] / evict[sizes[0]]
        print(f"eviction cost ratio {sizes[-1]} vs {sizes[0]} reads: {ratio:.2f}")
        if args.search_reads:
            search = bench_search(args.search_db or tmp / "search.db", args.search_reads)
            worst = max(search, key=search.get)
            print(f"search over {args.search_reads} reads: worst {worst} "
                  f"{search[worst]:.3f} s (median)")
    print(json.dumps({
        "enc_inserts_per_s": round(ins["enc_batch"], 1),
        "plain_inserts_per_s": round(ins["plain_batch"], 1),
        "ratio": round(ins["enc_batch"] / ins["plain_batch"], 3),
        "batch": args.batch,
        "enc_row_commit_per_s": round(ins["enc_row"], 1),
        "plain_row_commit_per_s": round(ins["plain_row"], 1),
        "row_commit_ratio": round(ins["enc_row"] / ins["plain_row"], 3),
        "group_writer_per_s": round(writer["rate"], 1), "group_mean_batch": writer["mean_batch"],
        "search_1m_s": round(max(search.values()), 4) if search else None,
        "search_reads": args.search_reads,
        "search_by_pattern_s": {k: round(v, 4) for k, v in search.items()},
        "evict_ms": round(evict[sizes[-1]], 4),
        "evict_ms_by_size": {str(k): round(v, 4) for k, v in evict.items()},
        "evict_ratio": round(ratio, 3),
    }))


if __name__ == "__main__":
    main()
