"""Compare OCR training runs, alone and as ensembles, on the figures we choose partners by.

    python -m inference.training.ocr_compare --data ../shared/data \\
        --member /tmp/ocr_run2:run2 --member /tmp/read2_run:run3 --member /tmp/ocr_run4:run4

Each member is an `alpr train ocr` output folder and a label. For every member alone and every
ensemble of two or more members (in the order given), the tool prints exact / top-5 on the
held-out sets of `alpr train ocr` (real crops by source, fresh synthetic renders) and, through
the pipeline (`PlateRecognizer.read_detections`, region us), on US plates with stacked letters
(the set of tests/test_ocr_stacked.py) with the count of reads longer than the truth (a stacked
letter read as a character). The last stdout line is one JSON object with every figure.
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
from inference.training import ocr_ensemble, ocr_train

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


def compare(members: list[tuple[Path, str]], sets: dict[str, list],
            stacked: Sequence[StackedPlate], variant: str = "int8") -> dict[str, dict]:
    """Figures per combination name ('run2', 'run2+run3', ...): each held-out set's
    `ocr_train.evaluate` and the stacked plates' `pipeline_figures`."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="ocr_compare_") as tmp:
        manifest = ocr_ensemble.stage(members, Path(tmp))
        files = dict(zip([p for _, p in members], manifest["ensemble"][variant], strict=True))
        for combo in combos([p for _, p in members]):
            reader = PlateReader([Path(tmp) / files[p] for p in combo], manifest=manifest)
            figs = {name: ocr_train.evaluate(reader.read, items) for name, items in sets.items()}
            if stacked:
                figs[STACKED] = pipeline_figures(read_through_pipeline(reader, stacked))
            reader.close()
            results["+".join(combo)] = figs
            logger.info("%s: %s", "+".join(combo), json.dumps(figs))
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
                cells.append(f"{f['exact']:.1%} ({f['exact_count']}/{f['n']}), "
                             f"{f['longer']} longer")
            else:
                count = round(f["exact"] * f["n"])
                cells.append(f"{f['exact']:.1%} ({count}/{f['n']}), top-5 {f['top5']:.1%}")
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
    ap.add_argument("--smoke", action="store_true", help="a handful of synthetic plates (tests)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.data is not None and not args.data.is_dir():
        raise SystemExit(f"ocr_compare: data folder {args.data} not found")
    try:
        sets = ocr_ensemble.held_out_sets(args.data, args.smoke)
        stacked = stacked_plates(range(2000, 2000 + args.stacked))
        results = compare(args.member, sets, stacked, args.variant)
    except (OSError, ValueError) as exc:  # ModelIntegrityError is a ValueError
        raise SystemExit(f"ocr_compare: {exc}") from exc
    print(table(results))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
