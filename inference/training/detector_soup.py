"""Average the weights of detector runs fine-tuned from one starting point (a "model soup").

Fine-tunes that start from the same weights stay in one basin of the loss, and the uniform
average of their weights often generalises better than any one of them at no cost at run time
(Wortsman et al., "Model soups", ICML 2022). Every variable is averaged, batch-norm statistics
included. The result is written as a trainer checkpoint, so that `alpr train detector --out DIR
--export-only` exports it (float, int8, coarse pass) like any run:

    python -m inference.training.detector_soup --out DIR RUN_A/detector_train.weights.h5 \\
        RUN_B/detector_train.weights.h5 [...]

The runs must share the architecture (`--width-mult`); a mismatch is refused before anything is
written. Last line of stdout: one JSON object naming the inputs.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np


def average(weight_sets: list[list[np.ndarray]]) -> list[np.ndarray]:
    """The element-wise mean of several models' weight lists (same shapes, same order)."""
    if len(weight_sets) < 2:
        raise ValueError("a soup needs at least two sets of weights")
    shapes = [[w.shape for w in ws] for ws in weight_sets]
    if any(s != shapes[0] for s in shapes[1:]):
        raise ValueError("the runs' weights differ in shape: not the same architecture")
    return [np.mean(np.stack(group), axis=0).astype(group[0].dtype)
            for group in zip(*weight_sets, strict=True)]


def soup(paths: list[Path], out: Path, width_mult: float = 1.0) -> Path:
    """Average the checkpoints at `paths` into `out`/detector_train.weights.h5."""
    from inference.training.detector_model import build_model

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise SystemExit(f"detector_soup: not found: {', '.join(missing)}")
    weight_sets = []
    for path in paths:
        model = build_model(width_mult=width_mult)
        try:  # Keras may only warn when it skips a layer it cannot match: refuse that too
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                model.load_weights(path)
        except (ValueError, UserWarning) as exc:
            raise SystemExit(f"detector_soup: {path} is not a detector checkpoint of width "
                             f"{width_mult}: {exc}") from exc
        weight_sets.append(model.get_weights())
    try:
        mixed = average(weight_sets)
    except ValueError as exc:
        raise SystemExit(f"detector_soup: {exc}") from exc
    model.set_weights(mixed)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "detector_train.weights.h5"
    model.save_weights(target)
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("weights", type=Path, nargs="+", help="detector_train.weights.h5 files")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--width-mult", type=float, default=1.0)
    args = parser.parse_args(argv)
    if len(args.weights) < 2:
        raise SystemExit("detector_soup: give at least two runs' weights")
    target = soup(args.weights, args.out, args.width_mult)
    print(json.dumps({"soup": str(target), "of": [str(p) for p in args.weights]}))


if __name__ == "__main__":
    main()
