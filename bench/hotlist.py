"""Hotlist matching speed: 100,000 entries, one read (5 candidates) checked per call.

Prints the median per-read time of the indexed matcher (target <= 1 ms) and of a linear scan
(the baseline, same entries, same reads) and their ratio. Last stdout line: one JSON object.
"""

from __future__ import annotations

import json
import random
import statistics
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.hotlist.matcher import Matcher  # noqa: E402
from appliance.hotlist.model import confusion_key  # noqa: E402
from provisioning.hotlist_format import HotlistEntry  # noqa: E402

N_ENTRIES = 100_000
N_READS = 2_000
N_BASELINE = 20
CHARS = string.ascii_uppercase + string.digits
NOW = time.time()


def plate(rng: random.Random) -> str:
    return "".join(rng.choice(CHARS) for _ in range(rng.choice((6, 7, 7, 7, 8))))


def entries(rng: random.Random) -> list[HotlistEntry]:
    out = []
    for i in range(N_ENTRIES):
        p = list(plate(rng))
        if i % 25 == 0:  # 4 % partial plates with unknown characters
            for j in rng.sample(range(len(p)), 2):
                p[j] = "?"
        elif i % 101 == 0:  # ~1 % with an unknown run
            p = p[:3] + ["*"] + p[-2:]
        out.append(HotlistEntry("".join(p), "partial-plate" if i % 25 == 0 else "stolen-vehicle"))
    return out


def linear(ents: list[HotlistEntry], texts: list[str], tol: int) -> int:
    """Baseline: compare every entry with every candidate."""
    hits = 0
    for t in texts:
        kt = confusion_key(t)
        for e in ents:
            if "*" in e.plate:
                continue  # the baseline is already slow enough without regexes
            if len(e.plate) != len(t):
                continue
            ke = confusion_key(e.plate)
            d = 0
            for a, b, ka, kb in zip(e.plate, t, ke, kt, strict=True):
                if a == "?" or a == b:
                    continue
                if ka != kb:
                    d = tol + 1
                    break
                d += 1
            hits += d <= tol
    return hits


def main() -> None:
    rng = random.Random(42)
    ents = entries(rng)
    t0 = time.perf_counter()
    m = Matcher(ents, tolerance=1)
    build_s = time.perf_counter() - t0
    exact_plates = [e.plate for e in ents if not e.is_pattern]
    reads = []
    for i in range(N_READS):
        base = rng.choice(exact_plates) if i % 10 == 0 else plate(rng)  # 10 % true hits
        reads.append([base] + [plate(rng) for _ in range(4)])
    times, hits = [], 0
    for texts in reads:
        t = time.perf_counter()
        hits += len(m.match_candidates(texts, NOW))
        times.append(time.perf_counter() - t)
    base_times = []
    for texts in reads[:N_BASELINE]:
        t = time.perf_counter()
        linear(ents, texts, 1)
        base_times.append(time.perf_counter() - t)
    med = statistics.median(times) * 1e3
    p95 = sorted(times)[int(0.95 * len(times))] * 1e3
    base = statistics.median(base_times) * 1e3
    print(f"entries: {N_ENTRIES}  reads: {N_READS} x 5 candidates  index build: {build_s:.2f} s")
    print(f"indexed matcher: median {med:.3f} ms/read, p95 {p95:.3f} ms  (target <= 1 ms)")
    print(f"linear scan baseline: median {base:.1f} ms/read  ->  speed-up x{base / med:.0f}")
    print(f"hits: {hits} (>= {N_READS // 10} planted)")
    print(json.dumps({"entries": N_ENTRIES, "candidates_per_read": 5,
                      "median_ms_per_read": round(med, 4), "p95_ms_per_read": round(p95, 4),
                      "baseline_linear_median_ms": round(base, 2),
                      "speedup": round(base / med, 1), "build_s": round(build_s, 2),
                      "target_ms": 1.0, "ok": med <= 1.0}))


if __name__ == "__main__":
    main()
