"""Compare OCR training runs, alone and as ensembles, on the figures we choose partners by.

    python -m inference.training.ocr_compare --data ../shared/data \\
        --member /tmp/ocr_run2:run2 --member /tmp/read2_run:run3 --member /tmp/ocr_run4:run4 \\
        [--combo run2+run3 ...] [--cascade run2+run3+run4:2:0.9 ...]

Each member is an `alpr train ocr` output folder and a label. For every member alone and every
ensemble of two or more members (in the order given), the tool prints exact / top-5 on the
held-out sets of `alpr train ocr` (real crops by source, fresh synthetic renders) and, through
the pipeline (`PlateRecognizer.read_detections`, region us), on US plates with stacked letters
(the set of tests/test_ocr_stacked.py) with the count of reads longer than the truth (a stacked
letter read as a character). `--combo` limits the plain entries to those given (default: every
combination); each `--cascade LABELS:K:P[:agree]` adds a cascade (inference.ocr.Cascade: the
members in that order, at least K, stopping once the combined reading's probability is >= P),
read through a manifest holding those settings as `ocr_ensemble` writes it, with the mean
members per plate of each set. The last stdout line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.ocr import PlateReader
from inference.training import ocr_ensemble

logger = logging.getLogger(__name__)

STACKED_SEEDS = range(2000, 2040)
STACKED = "stacked (pipeline)"


@dataclass(frozen=True)
class StackedPlate:
    image: np.ndarray
    corners: np.ndarray
    text: str


def stacked_plates(seeds: Iterable[int] = STACKED_SEEDS) -> list[StackedPlate]:
    """US plates with 2-3 small stacked letters beside the serial, one per seed."""
    from inference.training.render import render_plate

    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        p = render_plate(rng, region="us", width=int(rng.integers(150, 230)), stacked=1.0)
        out.append(StackedPlate(p.image, p.corners, p.text))
    return out


def read_through_pipeline(reader, plates: Sequence[StackedPlate],
                          region: str = "us") -> list[tuple[str, str]]:
    """(truth, read) per plate: the pipeline's reading of the plate's labelled corners
    (views, second look, format ranking); '' when nothing was read."""
    from inference.pipeline import PlateRecognizer
    from inference.rectify import box_of
    from inference.tracker import Tracker
    from inference.types import Detection

    rec = PlateRecognizer(None, reader, Tracker(), region=region)
    out = []
    for p in plates:
        (r,) = rec.read_detections(p.image, [Detection(box_of(p.corners), 0.9, p.corners)])
        out.append((p.text, r.text if r else ""))
    return out


def pipeline_figures(pairs: Sequence[tuple[str, str]]) -> dict:
    """Exact reads and reads longer than the truth (a spurious character) of (truth, read)."""
    n = len(pairs)
    exact = sum(t == r for t, r in pairs)
    return {"n": n, "exact": round(exact / n, 4) if n else 0.0, "exact_count": exact,
            "longer": sum(len(r) > len(t) for t, r in pairs)}


def combos(labels: Sequence[str]) -> list[tuple[str, ...]]:
    """Every member alone, then every ensemble of two or more, members kept in the given order."""
    return [c for k in range(1, len(labels) + 1) for c in itertools.combinations(labels, k)]


@dataclass(frozen=True)
class Entry:
    """A reader to compare: members in order; a cascade when `settings` is given."""

    members: tuple[str, ...]
    settings: dict | None = None

    @property
    def name(self) -> str:
        name = "+".join(self.members)
        if self.settings:
            s = self.settings
            name += f" cascade {s['min_members']}@{s['sure_above']:g}"
            name += " agree" if s.get("agree") else ""
        return name


def cascade_arg(spec: str) -> Entry:
    """LABELS:K:P[:agree] -> a cascade Entry (settings checked when the reader is built)."""
    parts = spec.split(":")
    try:
        if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "agree"):
            raise ValueError
        settings = {"min_members": int(parts[1]), "sure_above": float(parts[2])}
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--cascade wants LABEL+LABEL...:MIN_MEMBERS:SURE_ABOVE[:agree], got {spec!r}"
        ) from None
    if len(parts) == 4:
        settings["agree"] = True
    return Entry(tuple(parts[0].split("+")), settings)


def reader_for(entry: Entry, folder: Path, manifest: dict, variant: str,
               num_threads: int = 1) -> PlateReader:
    """The entry's PlateReader over the members staged in `folder` (as `ocr_ensemble.stage`
    names them), through a manifest whose ensemble is the entry (so its cascade applies)."""
    unknown = set(entry.members) - set(manifest["members"])
    if unknown:
        raise ValueError(f"{entry.name}: no --member labelled {sorted(unknown)}")
    lists = {kind: [manifest["members"][m]["files"][kind] for m in entry.members]
             for kind in ocr_ensemble.VARIANTS}
    man = {**manifest, "ensemble": {**lists, **(entry.settings or {})}}
    return PlateReader([folder / f for f in lists[variant]], num_threads=num_threads,
                       manifest=man)


def compare(members: list[tuple[Path, str]], sets: dict[str, list],
            stacked: Sequence[StackedPlate], variant: str = "int8",
            entries: Sequence[Entry] | None = None) -> dict[str, dict]:
    """Figures per entry name ('run2', 'run2+run3', 'run2+run3+run4 cascade 2@0.9', ...; default
    every combination): each held-out set's `ocr_train.evaluate` (and mean members of a cascade)
    and the stacked plates' `pipeline_figures`."""
    if entries is None:
        entries = [Entry(c) for c in combos([p for _, p in members])]
    results = {}
    with tempfile.TemporaryDirectory(prefix="ocr_compare_") as tmp:
        manifest = ocr_ensemble.stage(members, Path(tmp))
        for entry in entries:
            reader = reader_for(entry, Path(tmp), manifest, variant)
            figs = {name: ocr_ensemble.evaluate_reader(reader, items)
                    for name, items in sets.items()}
            if stacked:
                runs, reads = reader.member_runs, reader.reads
                figs[STACKED] = pipeline_figures(read_through_pipeline(reader, stacked))
                if entry.settings:
                    figs[STACKED]["mean_members"] = round(
                        (reader.member_runs - runs) / max(1, reader.reads - reads), 3)
            reader.close()
            results[entry.name] = figs
            logger.info("%s: %s", entry.name, json.dumps(figs))
    return results


def table(results: dict[str, dict]) -> str:
    """One row per combination: exact (count) and top-5 per set; stacked exact and longer."""
    names = list(next(iter(results.values())))
    lines = ["| members | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for combo, figs in results.items():
        cells = []
        for name in names:
            f = figs[name]
            if "longer" in f:
                cell = (f"{f['exact']:.1%} ({f['exact_count']}/{f['n']}), "
                        f"{f['longer']} longer")
            else:
                count = round(f["exact"] * f["n"])
                cell = f"{f['exact']:.1%} ({count}/{f['n']}), top-5 {f['top5']:.1%}"
            if "mean_members" in f:
                cell += f", {f['mean_members']:.2f} members"
            cells.append(cell)
        lines.append(f"| {combo} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--member", type=ocr_ensemble.member_arg, action="append", required=True,
                    metavar="FOLDER:LABEL", help="an `alpr train ocr` output folder and a label")
    ap.add_argument("--data", type=Path, default=None,
                    help="folder holding crops/ and scenes/ (held-out sets; default: synthetic)")
    ap.add_argument("--variant", choices=ocr_ensemble.VARIANTS, default="int8")
    ap.add_argument("--stacked", type=int, default=len(STACKED_SEEDS),
                    help="stacked-letter plates to read (seeds from 2000; 0 = none)")
    ap.add_argument("--combo", action="append", default=None, metavar="LABEL[+LABEL...]",
                    help="a plain ensemble (or single run) to compare; default: every combination")
    ap.add_argument("--cascade", type=cascade_arg, action="append", default=[],
                    metavar="LABELS:K:P[:agree]",
                    help="a cascade to compare, e.g. run2+run3+run4:2:0.9")
    ap.add_argument("--smoke", action="store_true", help="a handful of synthetic plates (tests)")
    args = ap.parse_args(argv)
    labels = [p for _, p in args.member]
    if args.combo is None:
        entries = [Entry(c) for c in combos(labels)] + args.cascade
    else:
        entries = [Entry(tuple(c.split("+"))) for c in args.combo] + args.cascade
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.data is not None and not args.data.is_dir():
        raise SystemExit(f"ocr_compare: data folder {args.data} not found")
    try:
        sets = ocr_ensemble.held_out_sets(args.data, args.smoke)
        stacked = stacked_plates(range(2000, 2000 + args.stacked))
        results = compare(args.member, sets, stacked, args.variant, entries)
    except (OSError, ValueError) as exc:  # ModelIntegrityError is a ValueError
        raise SystemExit(f"ocr_compare: {exc}") from exc
    print(table(results))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
