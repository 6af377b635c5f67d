"""Package several `alpr train ocr` runs as one OCR ensemble the unit reads with.

    python -m inference.training.ocr_ensemble --out inference/models --data ../shared/data \\
        --member /tmp/ocr_run2:ocr --member /tmp/ocr_run3:ocr3 [--min-members 2 --sure-above 0.9]

Each member is a training output folder (`ocr_int8.tflite`, `ocr_float.tflite`,
`ocr.manifest.json`, checked against its sha256) and a file prefix. The files are copied as
`<prefix>_int8.tflite` / `<prefix>_float.tflite` and one `ocr.manifest.json` is written: every
file's entry, each member's own training record and metrics under `members`, and under
`ensemble` the file lists per variant with the ensemble's metrics on the same held-out sets
`alpr train ocr` reports (see inference.ocr for how members are combined). With
`--min-members K --sure-above P [--agree]` the ensemble is read as a cascade: members in the
order given, stopping after K once the combined reading's probability is >= P (the settings go
in the manifest's `ensemble` block; the metrics then also give the mean members per plate).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from inference.ocr import ENSEMBLE_FLOOR, PlateReader, cascade_of
from inference.runtime import load_manifest, verify_file
from inference.training import ocr_train

logger = logging.getLogger(__name__)

VARIANTS = ("int8", "float")
SHARED_KEYS = ("alphabet", "architecture", "blank", "symbols", "input_spec", "max_chars",
               "validation_split")
MUST_AGREE = ("symbols", "blank", "input_spec")


def member_arg(spec: str) -> tuple[Path, str]:
    folder, sep, prefix = spec.rpartition(":")
    if not sep or not folder or not prefix.isidentifier():
        raise argparse.ArgumentTypeError(f"--member wants FOLDER:PREFIX, got {spec!r}")
    return Path(folder), prefix


def package(members: list[tuple[Path, str]], out: Path, data_root: Path | None,
            smoke: bool = False, cascade: dict | None = None) -> dict:
    """Copy the members' files into `out`, evaluate the ensemble, write the manifest.
    (`smoke`: a handful of synthetic validation plates, for the tests; `cascade`: the manifest's
    cascade settings, `min_members`, `sure_above`, optional `agree`.)"""
    manifest = stage(members, out, cascade)
    manifest["ensemble"]["metrics"] = evaluate(manifest, out, data_root, smoke)
    tmp = out / ".ocr.manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    tmp.replace(out / "ocr.manifest.json")
    return manifest


def stage(members: list[tuple[Path, str]], out: Path, cascade: dict | None = None) -> dict:
    """Copy the members' files into `out` under their prefixes (each checked against its run's
    manifest first) and return the ensemble's manifest (not written, no metrics yet)."""
    if len({p for _, p in members}) != len(members):
        raise ValueError("member prefixes must differ")
    settings = {k: v for k, v in (cascade or {}).items() if v is not None}
    lists = {kind: [f"{p}_{kind}.tflite" for _, p in members] for kind in VARIANTS}
    cascade_of({"ensemble": {**lists, **settings}}, lists["int8"])  # bad settings: write nothing
    sources = []
    for folder, prefix in members:  # verify everything before anything is written
        man = load_manifest(folder / "ocr.manifest.json")
        files = {kind: folder / f"ocr_{kind}.tflite" for kind in VARIANTS}
        contents = {kind: verify_file(path, man) for kind, path in files.items()}
        sources.append((prefix, man, files, contents))
    first = sources[0][1]
    for prefix, man, _, _ in sources[1:]:
        for key in MUST_AGREE:
            if man.get(key) != first.get(key):
                raise ValueError(f"member {prefix} differs from {sources[0][0]} in {key!r}")
    manifest = {"family": "ocr", "version": time.strftime("%Y%m%d", time.gmtime()),
                **{k: first[k] for k in SHARED_KEYS if k in first},
                "files": {}, "members": {},
                "ensemble": {**lists, **settings}}
    manifest["ensemble"]["combine"] = (
        f"geometric mean of each member's string probability (floor {ENSEMBLE_FLOOR}), "
        "characters' distributions averaged over force-aligned columns")
    out.mkdir(parents=True, exist_ok=True)
    staged = {}
    for prefix, man, files, contents in sources:
        names = {kind: f"{prefix}_{kind}.tflite" for kind in VARIANTS}
        for kind, path in files.items():
            manifest["files"][names[kind]] = man["files"][path.name]
            staged[names[kind]] = contents[kind]  # the verified bytes, read once
        manifest["members"][prefix] = {"files": names, "version": man.get("version"),
                                       "training": man.get("training"),
                                       "metrics": man.get("metrics")}
    for name, content in staged.items():  # all read before any is replaced (out may be a source)
        tmp = out / f".{name}.tmp"
        tmp.write_bytes(content)
        tmp.replace(out / name)
    return manifest


def held_out_sets(data_root: Path | None, smoke: bool = False) -> dict[str, list]:
    """The held-out sets `alpr train ocr` reports on: real crops by source, and synthetic."""
    _, real_val = ocr_train.load_real(data_root)
    return ocr_train.val_sets(ocr_train.TrainConfig(out_dir=Path("."), smoke=smoke), real_val)


def evaluate(manifest: dict, folder: Path, data_root: Path | None, smoke: bool = False) -> dict:
    """The ensemble's metrics per variant on the held-out sets of `alpr train ocr`."""
    sets = held_out_sets(data_root, smoke)
    metrics = {}
    for kind in VARIANTS:
        reader = PlateReader([folder / n for n in manifest["ensemble"][kind]], manifest=manifest)
        metrics[kind] = {name: evaluate_reader(reader, items) for name, items in sets.items()}
        reader.close()
    return metrics


def evaluate_reader(reader: PlateReader, items: list) -> dict:
    """`ocr_train.evaluate` of one reader, plus the members it ran per plate when a cascade."""
    reads, runs = reader.reads, reader.member_runs
    figs = ocr_train.evaluate(reader.read, items)
    if reader.cascade.min_members < len(reader.models) and items:
        figs["mean_members"] = round((reader.member_runs - runs) / (reader.reads - reads), 3)
    return figs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--member", type=member_arg, action="append", required=True,
                    metavar="FOLDER:PREFIX", help="a training output folder and its file prefix "
                    "(the first member's prefix is usually 'ocr')")
    ap.add_argument("--out", type=Path, required=True, help="folder for the files and manifest")
    ap.add_argument("--data", type=Path, default=None,
                    help="folder holding crops/ and scenes/ (held-out sets; default: synthetic)")
    ap.add_argument("--min-members", type=int, default=None, metavar="K",
                    help="cascade: always read with the first K members (default: all, always)")
    ap.add_argument("--sure-above", type=float, default=None, metavar="P",
                    help="cascade: stop adding members once the combined reading's "
                    "probability is >= P")
    ap.add_argument("--agree", action="store_true", default=None,
                    help="cascade: stop only when every member read so far read that string")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cascade = {"min_members": args.min_members, "sure_above": args.sure_above,
               "agree": args.agree}
    try:
        manifest = package(args.member, args.out, args.data, cascade=cascade)
    except (OSError, ValueError) as exc:  # ModelIntegrityError is a ValueError
        raise SystemExit(f"ocr_ensemble: {exc}") from exc
    print(json.dumps(manifest["ensemble"]["metrics"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
