"""Average the weights of runs fine-tuned from one starting point (a "model soup").

Fine-tunes that start from the same weights stay in one basin of the loss, and the uniform
average of their weights often generalises better than any one of them, at no cost at run time
(Wortsman et al., "Model soups", ICML 2022; averaging a fine-tune with its starting point, as
in WiSE-FT, keeps more of the start's robustness). Every variable is averaged, batch-norm
statistics included. The result is written under the name the family's trainer reads, so the
usual commands export it (float, int8, manifest):

    python -m inference.training.soup --family detector --out DIR RUN_A/detector_train.weights.h5 \\
        RUN_B/detector_train.weights.h5 [...]
    alpr train detector --out DIR --export-only [--threshold T]      # + coarse pass
    (the export keeps the version and record of a detector.manifest.json already in DIR: put
    one there with the soup's own version, as docs/detector.md's session-8 soup did)

    python -m inference.training.soup --family ocr --out DIR RUN_A/ocr.weights.h5 RUN_B/...
    alpr train ocr --out DIR --init DIR/ocr.weights.h5 --steps 0      # export as they are

The runs must share the architecture (`--width`); anything else is refused before a file is
written. Last line of stdout: one JSON object naming the inputs and the output.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

# family -> (the file name its trainer reads, how to build its Keras model for a width)
FAMILIES = {
    "detector": "detector_train.weights.h5",
    "ocr": "ocr.weights.h5",
}


def build(family: str, width: float):
    if family == "detector":
        from inference.training.detector_model import build_model

        return build_model(width_mult=width)
    from inference.training.ocr_model import build_model

    return build_model(width=width)


def average(weight_sets: list[list[np.ndarray]]) -> list[np.ndarray]:
    """The element-wise mean of several models' weight lists (same shapes, same order)."""
    if len(weight_sets) < 2:
        raise ValueError("a soup needs at least two sets of weights")
    shapes = [[w.shape for w in ws] for ws in weight_sets]
    if any(s != shapes[0] for s in shapes[1:]):
        raise ValueError("the runs' weights differ in shape: not the same architecture")
    return [np.mean(np.stack(group), axis=0).astype(group[0].dtype)
            for group in zip(*weight_sets, strict=True)]


def soup(paths: list[Path], out: Path, family: str = "detector", width: float = 1.0) -> Path:
    """Average the checkpoints at `paths` into `out`/<the family's weights file>."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise SystemExit(f"soup: not found: {', '.join(missing)}")
    weight_sets = []
    for path in paths:
        model = build(family, width)
        try:  # Keras may only warn when it skips a layer it cannot match: refuse that too
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                model.load_weights(path)
        except (ValueError, UserWarning) as exc:
            raise SystemExit(f"soup: {path} is not a {family} checkpoint of width {width}: "
                             f"{exc}") from exc
        weight_sets.append(model.get_weights())
    try:
        mixed = average(weight_sets)
    except ValueError as exc:
        raise SystemExit(f"soup: {exc}") from exc
    model.set_weights(mixed)
    out.mkdir(parents=True, exist_ok=True)
    target = out / FAMILIES[family]
    model.save_weights(target)
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("weights", type=Path, nargs="+", help="the runs' weights files")
    parser.add_argument("--family", choices=sorted(FAMILIES), required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--width", type=float, default=1.0,
                        help="the runs' width (detector --width-mult, OCR --width)")
    args = parser.parse_args(argv)
    if len(args.weights) < 2:
        raise SystemExit("soup: give at least two runs' weights")
    target = soup(args.weights, args.out, args.family, args.width)
    print(json.dumps({"family": args.family, "soup": str(target),
                      "of": [str(p) for p in args.weights]}))


if __name__ == "__main__":
    main()
