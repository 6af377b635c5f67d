"""Choose a cascade (member order, min_members, sure_above, agree) without the held-out sets.

    python -m inference.training.ocr_cascade --data ../shared/data \\
        --member /tmp/ocr_run2:run2 --member /tmp/read2_run:run3 \\
        --member /tmp/ocr_run4:run4 --member /tmp/ocr_run6:run6 --baseline run2+run3

Selection sets (none of them held out, none seen by the held-out figures): fresh synthetic
renders (`ocr_data.synthetic_pool`, seed 4242: not the training pools' 1234 nor the validation
set's 1235), US plates with stacked letters (seeds 5000 on, rectified from their corners: not
the 2000-2039 of ocr_compare), and the training split of the real crops (US + BR; every member
trained on them, so they only guard against a config that breaks what was learnt).

Every member reads every plate once; a configuration's reading of a plate is then the cascade's
stop decision (`Cascade.sure`) over the members' combined readings (`inference.ocr.rank`),
computed once per member subset, so the whole grid costs seconds. The chosen configuration is
re-read through `inference.ocr.read_members` (the reader's own path) as a check. The rule is in
docs/ocr.md (cascade) and in `choose`. Last stdout line: one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.ocr import ENSEMBLE_BEAM, Cascade, PlateReader, decode, rank, read_members
from inference.rectify import OCR_SIZE, rectify
from inference.training import ocr_compare, ocr_data, ocr_ensemble, ocr_train

logger = logging.getLogger(__name__)

SYNTHETIC_SEED = 4242
STACKED_SEED = 5000
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.82, 0.84, 0.85, 0.86)
MAX_MEAN_MEMBERS = 2.25  # the shipped pair is 2; each further member costs ~0.5x the pair


@dataclass(frozen=True)
class Config:
    members: tuple[str, ...]
    min_members: int
    sure_above: float
    agree: bool

    @property
    def name(self) -> str:
        return (f"{'+'.join(self.members)} cascade {self.min_members}@{self.sure_above:g}"
                + (" agree" if self.agree else ""))


def selection_sets(data_root: Path | None, n_synthetic: int, n_stacked: int) -> dict[str, list]:
    """(crop, text) per selection set; see the module doc."""
    sets: dict[str, list] = {}
    xs, _, texts = ocr_data.synthetic_pool(n_synthetic, SYNTHETIC_SEED)
    sets["synthetic (seed 4242)"] = list(zip(xs, texts, strict=True))
    stacked = ocr_compare.stacked_plates(range(STACKED_SEED, STACKED_SEED + n_stacked))
    sets["stacked (seeds 5000+)"] = [(rectify(p.image, p.corners, size=OCR_SIZE, margin=0.03),
                                      p.text) for p in stacked]
    train, _ = ocr_train.load_real(data_root)
    for c in train:
        crop = rectify(c.image, c.corners, size=OCR_SIZE, margin=0.03)
        sets.setdefault(f"train {c.source}", []).append((crop, c.text))
    return {k: v for k, v in sets.items() if v}


def read_all(reader: PlateReader, items: list) -> list[list[tuple[np.ndarray, object]]]:
    """Per plate, every member's (column probabilities, decoded reading)."""
    return [[(p, decode(p, ENSEMBLE_BEAM)) for p in reader.member_probs(crop)]
            for crop, _ in items]


def chains(labels: list[str], min_members: int) -> list[tuple[str, ...]]:
    """Member orders worth telling apart: the first `min_members` as a set (they always all
    read), then every order of any of the others."""
    out = []
    for first in itertools.combinations(labels, min_members):
        rest = [m for m in labels if m not in first]
        for k in range(1, len(rest) + 1):
            out += [first + tail for tail in itertools.permutations(rest, k)]
    return out


def subset_table(read: list, texts: list[str], labels: list[str], subset: tuple[str, ...],
                 thresholds: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The members of `subset` combined, per plate: is the best string right, and is the
    cascade sure at each threshold, (plates,) and (agree 0/1, plates, thresholds). Order does
    not matter to either (`rank` and `Cascade.sure` treat the members as a set)."""
    idx = [labels.index(m) for m in subset]
    k = len(subset)
    right = np.zeros(len(read), bool)
    sure = np.zeros((2, len(read), len(thresholds)), bool)
    for i, members in enumerate(read):
        results = [members[j][1] for j in idx]
        ranked = rank(results, 5)
        best = ranked[0][0] if ranked and k > 1 else results[0].text  # as read_members
        right[i] = best == texts[i]
        for t, thr in enumerate(thresholds):
            for a in (0, 1):
                sure[a, i, t] = Cascade(k, thr, bool(a)).sure(results, ranked)
    return right, sure


def simulate(rights: list[np.ndarray], sures: list[np.ndarray],
             min_members: int) -> tuple[np.ndarray, np.ndarray]:
    """A chain's cascade from its prefixes' tables: per plate, the members used and whether
    the reading is right, each (agree 0/1, plates, thresholds)."""
    agree, plates, thr = sures[0].shape
    stop = np.full((agree, plates, thr), len(rights) - 1)
    done = np.zeros((agree, plates, thr), bool)
    for k in range(min_members - 1, len(rights)):
        now = sures[k] & ~done
        stop[now] = k
        done |= now
    right = np.stack(rights)[stop, np.arange(plates)[None, :, None]]
    return stop + 1, right


def grid(read: list, texts: list[str], labels: list[str], bounds: dict[str, slice],
         thresholds: tuple[float, ...] = THRESHOLDS) -> dict[Config, dict]:
    """Every configuration's figures per selection set: exact count and mean members."""
    tables = {}
    for k in range(1, len(labels) + 1):
        for subset in itertools.combinations(labels, k):
            tables[frozenset(subset)] = subset_table(read, texts, labels, subset, thresholds)
    out = {}
    for min_members in (1, 2):
        for order in chains(labels, min_members):
            prefixes = [tables[frozenset(order[:k])] for k in range(1, len(order) + 1)]
            used, right = simulate([p[0] for p in prefixes], [p[1] for p in prefixes],
                                   min_members)
            for a, (t, thr) in itertools.product((0, 1), enumerate(thresholds)):
                figs = {name: {"n": sl.stop - sl.start, "exact": int(right[a, sl, t].sum()),
                               "mean_members": round(float(used[a, sl, t].mean()), 3)}
                        for name, sl in bounds.items()}
                out[Config(order, min_members, thr, bool(a))] = figs
    return out


def plain(read: list, texts: list[str], labels: list[str], members: tuple[str, ...],
          bounds: dict[str, slice]) -> dict:
    """A plain ensemble's (every member always) figures per set: the baseline."""
    right, _ = subset_table(read, texts, labels, members, (1.0,))
    return {name: {"n": sl.stop - sl.start, "exact": int(right[sl].sum()),
                   "mean_members": float(len(members))} for name, sl in bounds.items()}


def choose(figures: dict[Config, dict], baseline: dict,
           max_members: float = MAX_MEAN_MEMBERS) -> tuple[Config | None, list]:
    """The rule (docs/ocr.md): cost = the largest mean members over the sets; eligible = cost
    <= max_members and on every set at least the baseline's exact count; the choice = the
    highest mean exact share over the sets, then the lowest cost, the highest sure_above,
    the fewest members listed, without agree. Returns (choice or None, eligible ranked)."""
    def cost(f):
        return max(s["mean_members"] for s in f.values())

    def share(f):
        return float(np.mean([s["exact"] / s["n"] for s in f.values()]))

    eligible = [(c, f) for c, f in figures.items() if cost(f) <= max_members
                and all(f[k]["exact"] >= baseline[k]["exact"] for k in baseline)]
    eligible.sort(key=lambda cf: (-round(share(cf[1]), 6), cost(cf[1]), -cf[0].sure_above,
                                  len(cf[0].members), cf[0].agree, cf[0].name))
    return (eligible[0][0] if eligible else None), eligible


def check(config: Config, read: list, texts: list[str], labels: list[str]) -> tuple[int, float]:
    """The configuration through `read_members` itself: (exact, mean members) over all plates."""
    cascade = Cascade(config.min_members, config.sure_above, config.agree)
    idx = [labels.index(m) for m in config.members]
    exact = used = 0
    for members, text in zip(read, texts, strict=True):
        res, k = read_members((members[j] for j in idx), cascade, 5)
        exact += res.text == text
        used += k
    return exact, used / len(read)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--member", type=ocr_ensemble.member_arg, action="append", required=True,
                    metavar="FOLDER:LABEL")
    ap.add_argument("--baseline", required=True, metavar="LABEL+LABEL",
                    help="the shipped plain ensemble (no set may read fewer plates than it)")
    ap.add_argument("--data", type=Path, default=None, help="crops/ and scenes/ (training split)")
    ap.add_argument("--synthetic", type=int, default=1500)
    ap.add_argument("--stacked", type=int, default=200)
    ap.add_argument("--variant", choices=ocr_ensemble.VARIANTS, default="int8")
    ap.add_argument("--max-members", type=float, default=MAX_MEAN_MEMBERS)
    ap.add_argument("--top", type=int, default=15, help="eligible configurations to print")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    labels = [p for _, p in args.member]
    base = tuple(args.baseline.split("+"))
    if set(base) - set(labels):
        raise SystemExit(f"ocr_cascade: --baseline {args.baseline} names no --member")
    try:
        sets = selection_sets(args.data, args.synthetic, args.stacked)
        with tempfile.TemporaryDirectory(prefix="ocr_cascade_") as tmp:
            manifest = ocr_ensemble.stage(args.member, Path(tmp))
            reader = PlateReader([Path(tmp) / f for f in manifest["ensemble"][args.variant]],
                                 manifest=manifest)
            items = [it for v in sets.values() for it in v]
            read = read_all(reader, items)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"ocr_cascade: {exc}") from exc
    texts = [t for _, t in items]
    starts = np.cumsum([0] + [len(v) for v in sets.values()])
    bounds = {k: slice(int(a), int(b))
              for k, a, b in zip(sets, starts[:-1], starts[1:], strict=True)}
    baseline = plain(read, texts, labels, base, bounds)
    figures = grid(read, texts, labels, bounds)
    best, eligible = choose(figures, baseline, args.max_members)
    print(f"baseline {args.baseline}: {json.dumps(baseline)}")
    print(f"{len(eligible)} of {len(figures)} configurations eligible; the best:")
    for c, f in eligible[:args.top]:
        print(f"  {c.name}: " + "; ".join(f"{k} {v['exact']}/{v['n']} {v['mean_members']:.2f}m"
                                           for k, v in f.items()))
    out = {"baseline": baseline, "eligible": len(eligible), "configurations": len(figures),
           "chosen": None}
    if best is not None:
        exact, mean = check(best, read, texts, labels)
        sim = sum(v["exact"] for v in figures[best].values())
        if exact != sim:
            raise SystemExit(f"ocr_cascade: simulation {sim} != read_members {exact} exact")
        out["chosen"] = {"members": list(best.members), "min_members": best.min_members,
                         "sure_above": best.sure_above, "agree": best.agree,
                         "name": best.name, "figures": figures[best],
                         "mean_members_all": round(mean, 3)}
        print(f"chosen: {best.name} (checked through read_members: {exact} exact, "
              f"{mean:.3f} members per plate)")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
