"""Turn docs/eval/scene_extra_text.json (the by-eye text of the scene plates the labels leave
out) into an OpenALPR-format folder that `alpr eval` reads:

    python -m inference.training.extra_eval_set --data ../shared/data \
        --text docs/eval/scene_extra_text.json --out /tmp/extra [--split val] [--countries RO,GB]
    alpr eval /tmp/extra --region eu

Each image with a readable selected plate gets a symbolic link and a sibling `.txt`, one line
per such plate (`filename x y w h PLATE`, box rounded to whole pixels). Only those plates are
listed (not the image's other plates), so the folder measures reading, not detection precision.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

_TEXT = re.compile(r"^[A-Z0-9]+$")


def _selected(entry: object, n: int, split: str, countries: frozenset[str] | None) -> bool:
    """Whether plates[n] goes in the folder; a malformed entry is a ValueError naming it."""
    where = f"plates[{n}]"
    if not isinstance(entry, dict) or not {"image", "box", "split", "text"} <= entry.keys():
        raise ValueError(f"{where}: expected an object with image, box, split, text")
    box, text = entry["box"], entry["text"]
    if (not isinstance(box, list) or len(box) != 4
            or not all(isinstance(v, (int, float)) for v in box) or box[2] <= 0 or box[3] <= 0):
        raise ValueError(f"{where}: box must be [x, y, w, h] with w, h > 0, got {box!r}")
    if text is not None and (not isinstance(text, str) or not _TEXT.match(text)):
        raise ValueError(f"{where}: text must be uppercase A-Z0-9 or null, got {text!r}")
    if entry["split"] not in ("train", "val"):
        raise ValueError(f"{where}: split must be train or val, got {entry['split']!r}")
    return (text is not None and split in ("all", entry["split"])
            and (countries is None or entry.get("country") in countries))


def write_folder(doc: dict, images: Path, out: Path, split: str = "all",
                 countries: frozenset[str] | None = None) -> tuple[int, int]:
    """Write the folder; returns (images, plates) written."""
    plates = doc.get("plates") if isinstance(doc, dict) else None
    if not isinstance(plates, list):
        raise ValueError("expected a JSON object with a 'plates' list")
    by_image: dict[str, list[str]] = defaultdict(list)
    for n, e in enumerate(plates):
        if _selected(e, n, split, countries):
            x, y, w, h = (round(v) for v in e["box"])
            by_image[e["image"]].append(f"{e['image']} {x} {y} {w} {h} {e['text']}")
    missing = [name for name in by_image if not (images / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{images}: {len(missing)} listed images missing, "
                                f"e.g. {missing[0]}")
    out.mkdir(parents=True, exist_ok=True)
    for name, lines in sorted(by_image.items()):
        link = out / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to((images / name).resolve())
        link.with_suffix(".txt").write_text("\n".join(lines) + "\n")
    return len(by_image), sum(len(v) for v in by_image.values())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m inference.training.extra_eval_set",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--text", type=Path, default=Path("docs/eval/scene_extra_text.json"))
    ap.add_argument("--out", type=Path, required=True, help="folder to write (OpenALPR format)")
    ap.add_argument("--split", choices=("train", "val", "all"), default="all")
    ap.add_argument("--countries", default=None,
                    help="comma-separated country codes (the file's `country`), e.g. RO,GB,DE")
    args = ap.parse_args(argv)
    countries = frozenset(args.countries.split(",")) if args.countries else None
    try:
        doc = json.loads(args.text.read_text())
        n_img, n_plates = write_folder(doc, args.data / "scenes" / "images", args.out,
                                       args.split, countries)
    except (OSError, ValueError) as exc:
        print(f"extra_eval_set: {args.text}: {exc}", file=sys.stderr)
        return 2
    print(f"{n_plates} plates in {n_img} images in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
