"""Turn a transcription of scene plates into an OpenALPR-format folder that `alpr eval` reads.

The dash-cam scenes (Bucharest, Romania) label boxes only; `docs/eval/ro_dashcam_val_text.json`
holds the plate text of their validation frames, transcribed by eye. This writes one `.txt`
per image (`filename x y w h PLATE`, every labelled plate; no text where it was not readable)
beside a symbolic link to the image, so reading European plates is measured by the same
command as everything else:

    python -m inference.training.transcribed --data ../shared/data \
        --labels docs/eval/ro_dashcam_val_text.json --out /tmp/ro_val
    alpr eval /tmp/ro_val --region eu

The same for the plates the scene labels leave out (`docs/eval/scene_extra_text.json`, whose
entries carry their split: `--split train|val`); their folder lists only those plates (with
or without text), not the images' labelled ones, so use its reading figures.

The images stay where they are (never copied into the repo).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path


def write_folder(labels: dict, images: Path, out: Path,
                 countries: frozenset[str] | None = None, split: str = "all") -> int:
    """Write the folder; returns the number of images. With `countries`, only images with a
    plate of those countries, and only those plates' text (the others stay labelled boxes).
    With `split` (train or val), only the entries of that split (files whose entries carry a
    `split`, such as scene_extra_text.json)."""
    by_image: dict[str, list[dict]] = defaultdict(list)
    for n, rec in enumerate(labels["plates"]):
        if rec.get("split", split) not in ("train", "val", split):
            raise ValueError(f"plates[{n}]: split must be train or val, got {rec['split']!r}")
        if split != "all" and rec.get("split", split) != split:
            continue
        if countries is not None and rec.get("country") not in countries:
            rec = {**rec, "text": None}
        by_image[rec["image"]].append({"plate": n, **rec})
    if countries is not None:
        by_image = defaultdict(list, {k: v for k, v in by_image.items()
                                      if any(p["text"] for p in v)})
    out.mkdir(parents=True, exist_ok=True)
    for name, plates in sorted(by_image.items()):
        src = (images / name).resolve()
        if not src.exists():
            raise FileNotFoundError(f"{src} (listed in the transcription) does not exist")
        link = out / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(src)
        lines = [" ".join([name, *(f"{v:g}" for v in p["box"]), p["text"] or ""]).rstrip()
                 for p in sorted(plates, key=lambda p: p["plate"])]
        link.with_suffix(".txt").write_text("\n".join(lines) + "\n")
    return len(by_image)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m inference.training.transcribed",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--labels", type=Path, required=True, help="transcription JSON")
    ap.add_argument("--out", type=Path, required=True, help="folder to write (OpenALPR format)")
    ap.add_argument("--countries", default=None,
                    help="comma-separated country codes (the transcription's `country`): only "
                    "those plates are read; e.g. GB,DE,FR,ES,IE,UA for the European ones")
    ap.add_argument("--split", choices=("train", "val", "all"), default="all",
                    help="only the entries of this split (files whose entries carry `split`)")
    args = ap.parse_args(argv)
    countries = frozenset(args.countries.split(",")) if args.countries else None
    try:
        labels = json.loads(args.labels.read_text())
        n = write_folder(labels, args.data / "scenes" / "images", args.out, countries,
                         args.split)
    except (OSError, ValueError, KeyError) as exc:
        print(f"transcribed: {exc}", file=sys.stderr)
        return 2
    print(f"{n} images in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
