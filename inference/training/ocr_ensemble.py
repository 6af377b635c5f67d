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
`--default P1,P2,...` names the default reader's members (all members if not given) and
`--region eu=P1,P2,...` a reader of its own for one region (`ensemble.regions`, docs/ocr.md);
every member must be in some reader.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from inference.formats import REGION_FAMILIES
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


def prefixes_arg(spec: str) -> list[str]:
    names = spec.split(",")
    if not all(n.isidentifier() for n in names):
        raise argparse.ArgumentTypeError(f"want member prefixes P1,P2,..., got {spec!r}")
    return names


def region_arg(spec: str) -> tuple[str, list[str]]:
    region, sep, names = spec.partition("=")
    if not sep or region not in REGION_FAMILIES:
        raise argparse.ArgumentTypeError(f"want REGION=P1,P2,... with a region of "
                                         f"{REGION_FAMILIES}, got {spec!r}")
    return region, prefixes_arg(names)


def package(members: list[tuple[Path, str]], out: Path, data_root: Path | None,
            smoke: bool = False, cascade: dict | None = None,
            default: list[str] | None = None, regions: dict[str, list[str]] | None = None) -> dict:
    """Copy the members' files into `out`, evaluate the ensemble, write the manifest.
    (`smoke`: a handful of synthetic validation plates, for the tests; `cascade`: the manifest's
    cascade settings, `min_members`, `sure_above`, optional `agree`; `default`: the default
    reader's member prefixes in order (all members if None); `regions`: a reader per region,
    prefixes in order, sharing the cascade settings.)"""
    manifest = stage(members, out, cascade, default, regions)
    block = manifest["ensemble"]
    block["metrics"] = evaluate(block, manifest, out, data_root, smoke)
    for lists in block.get("regions", {}).values():
        lists["metrics"] = evaluate(lists, manifest, out, data_root, smoke)
    tmp = out / ".ocr.manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    tmp.replace(out / "ocr.manifest.json")
    return manifest


def readers(prefixes: list[str], default: list[str] | None,
            regions: dict[str, list[str]] | None) -> dict:
    """The `ensemble` block's member lists: the default reader's per variant, and `regions`."""
    if len(set(prefixes)) != len(prefixes):
        raise ValueError("member prefixes must differ")
    orders = {"the default reader": default or prefixes,
              **{f"the {r} reader": o for r, o in (regions or {}).items()}}
    for name, order in orders.items():
        if not order or len(set(order)) != len(order) or set(order) - set(prefixes):
            raise ValueError(f"{name} must name members' prefixes, each once: got {order}; "
                             f"members: {prefixes}")
    unused = set(prefixes).difference(*orders.values())
    if unused:
        raise ValueError(f"members {sorted(unused)} are in no reader")

    def files(order: list[str]) -> dict[str, list[str]]:
        return {kind: [f"{p}_{kind}.tflite" for p in order] for kind in VARIANTS}

    block = files(default or prefixes)
    if regions:
        block["regions"] = {r: files(o) for r, o in regions.items()}
    return block


def stage(members: list[tuple[Path, str]], out: Path, cascade: dict | None = None,
          default: list[str] | None = None, regions: dict[str, list[str]] | None = None) -> dict:
    """Copy the members' files into `out` under their prefixes (each checked against its run's
    manifest first) and return the ensemble's manifest (not written, no metrics yet)."""
    settings = {k: v for k, v in (cascade or {}).items() if v is not None}
    lists = readers([p for _, p in members], default, regions)
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


def evaluate(lists: dict, manifest: dict, folder: Path, data_root: Path | None,
             smoke: bool = False) -> dict:
    """A reader's metrics per variant (`lists`: its member files per variant, packaged in
    `folder` with `manifest`) on the held-out sets of `alpr train ocr`."""
    sets = held_out_sets(data_root, smoke)
    metrics = {}
    for kind in VARIANTS:
        reader = PlateReader([folder / n for n in lists[kind]], manifest=manifest)
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
    ap.add_argument("--default", type=prefixes_arg, default=None, metavar="P1,P2,...",
                    help="the default reader's members in order (default: every member)")
    ap.add_argument("--region", type=region_arg, action="append", default=[],
                    metavar="REGION=P1,P2,...", help="a reader of its own for one region "
                    "(us, eu, br, auto), members in order, same cascade settings")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cascade = {"min_members": args.min_members, "sure_above": args.sure_above,
               "agree": args.agree}
    regions = dict(args.region)
    if len(regions) != len(args.region):
        ap.error("--region: one reader per region")
    try:
        manifest = package(args.member, args.out, args.data, cascade=cascade,
                           default=args.default, regions=regions)
    except (OSError, ValueError) as exc:  # ModelIntegrityError is a ValueError
        raise SystemExit(f"ocr_ensemble: {exc}") from exc
    print(json.dumps(manifest["ensemble"]["metrics"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
