"""OCR speed of candidate readers (training runs alone or as ensembles), in one run.

    python bench/ocr_readers.py --member /tmp/ocr_run2:run2 --member /tmp/read2_run:run3 \\
        --member /tmp/ocr_run5:run5 --reader run2+run3 --reader run5 --reader run2+run5 \\
        [--reader run2+run3+run5:2:0.85[:agree]] [--data ../shared/data]

Members are `alpr train ocr` output folders with a label (as for
inference.training.ocr_compare); each --reader is a '+'-joined list of labels, read as
`PlateReader` reads the shipped ensemble (contrast stretch, invokes, beam searches, combine);
`LABELS:K:P[:agree]` is a cascade (as for ocr_compare --cascade), read through a manifest
holding its settings. The first reader is the baseline. The crops: the plate of
bench/recognition.py and 20 rendered US / EU / BR plates, or with `--data` the held-out US
crops (the validation split of crops/, as ocr_compare reads them); the readers take turns on
every crop (the order rotating every round) so a machine's changing load hits them alike. One
interpreter thread; median ms per plate, mean ms per crop (a cascade's cost is uneven: its
median hides the escalated plates; the bench plate aside) and their ratios to the baseline,
the bench plate alone (bench/recognition.py's), and the members run per read. Last stdout
line: one JSON object
{"ms": {reader: median}, "ratio": {..}, "mean_ms": {..}, "mean_ratio": {..},
"ms_bench_plate": {..}, "mean_members": {..}, ...}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.recognition import flat_plate  # noqa: E402
from inference.ocr import PlateReader  # noqa: E402
from inference.rectify import rectify  # noqa: E402
from inference.training import ocr_compare, ocr_ensemble  # noqa: E402
from inference.training.ocr_effects import place  # noqa: E402
from inference.training.render import render_plate  # noqa: E402


def crops(n_rendered: int = 20, data: Path | None = None) -> list[np.ndarray]:
    """The bench plate, then 20 rendered plates or (with `data`) the held-out US crops."""
    rng = np.random.default_rng(0)
    image, corners = place(flat_plate("7ABC123"), 160, rng, ir=False)
    out = [rectify(image, corners)]
    if data is not None:
        sets = ocr_ensemble.held_out_sets(data, smoke=True)  # smoke: few synthetic, unused
        return out + [crop for crop, _ in sets.get("us-crops", [])]
    for i in range(n_rendered):
        p = render_plate(rng, region=("us", "eu", "br")[i % 3], width=int(rng.integers(140, 230)))
        out.append(rectify(p.image, p.corners))
    return out


def time_readers(readers: dict[str, PlateReader], plates: list[np.ndarray],
                 rounds: int) -> dict[str, list[list[float]]]:
    """ms of each reader's reads, per crop; readers alternate on every crop, the order rotating
    every round (no reader always goes first)."""
    times = {name: [[] for _ in plates] for name in readers}
    order = list(readers)
    for r in range(rounds + 1):
        turn = order[r % len(order):] + order[:r % len(order)]
        for i, crop in enumerate(plates):
            for name in turn:
                t0 = time.perf_counter()
                readers[name].read(crop)
                if r:  # round 0 warms up
                    times[name][i].append((time.perf_counter() - t0) * 1000)
    return times


def reader_entry(spec: str) -> ocr_compare.Entry:
    """'a+b' (plain) or 'a+b+c:K:P[:agree]' (cascade)."""
    return ocr_compare.cascade_arg(spec) if ":" in spec else ocr_compare.Entry(
        tuple(spec.split("+")))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--member", type=ocr_ensemble.member_arg, action="append", required=True,
                    metavar="FOLDER:LABEL")
    ap.add_argument("--reader", action="append", required=True,
                    metavar="LABEL[+LABEL...][:K:P[:agree]]",
                    help="a reader to time (the first is the baseline); with :K:P a cascade")
    ap.add_argument("--variant", choices=ocr_ensemble.VARIANTS, default="int8")
    ap.add_argument("--rounds", type=int, default=15, help="passes over the crops")
    ap.add_argument("--data", type=Path, default=None,
                    help="time on the held-out US crops under DATA/crops instead of renders")
    args = ap.parse_args(argv)
    labels = [label for _, label in args.member]
    entries = {spec: reader_entry(spec) for spec in args.reader}
    for spec, entry in entries.items():
        if unknown := set(entry.members) - set(labels):
            raise SystemExit(f"--reader {spec}: no --member labelled {sorted(unknown)}")
    plates = crops(data=args.data)
    with tempfile.TemporaryDirectory(prefix="ocr_readers_") as tmp:
        manifest = ocr_ensemble.stage(args.member, Path(tmp))
        readers = {spec: ocr_compare.reader_for(e, Path(tmp), manifest, args.variant)
                   for spec, e in entries.items()}
        times = time_readers(readers, plates, args.rounds)
    ms = {k: statistics.median(t for crop in v for t in crop) for k, v in times.items()}
    mean = {k: statistics.mean(statistics.median(crop) for crop in v[1:])  # bench plate aside
            for k, v in times.items()}
    bench_plate = {k: statistics.median(v[0]) for k, v in times.items()}  # recognition.py's
    members = {k: r.mean_members for k, r in readers.items()}
    base = args.reader[0]
    n = len(plates)
    for name, v in ms.items():
        print(f"OCR {args.variant} {name}: {v:.3f} ms per plate, {v / ms[base]:.2f}x {base} "
              f"(median of {args.rounds} x {n} crops, 1 thread); mean per crop "
              f"{mean[name]:.3f} ms, {mean[name] / mean[base]:.2f}x; bench plate alone "
              f"{bench_plate[name]:.3f} ms, {bench_plate[name] / bench_plate[base]:.2f}x; "
              f"{members[name]:.2f} members per read")
    print(json.dumps({"variant": args.variant, "baseline": base, "crops": n,
                      "ms": {k: round(v, 3) for k, v in ms.items()},
                      "ratio": {k: round(v / ms[base], 3) for k, v in ms.items()},
                      "mean_ms": {k: round(v, 3) for k, v in mean.items()},
                      "mean_ratio": {k: round(v / mean[base], 3) for k, v in mean.items()},
                      "ms_bench_plate": {k: round(v, 3) for k, v in bench_plate.items()},
                      "mean_members": {k: round(v, 3) for k, v in members.items()}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
