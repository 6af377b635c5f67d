"""Labelled image folders for evaluation and training, and IoU matching of detections.

Two layouts are read:
- OpenALPR benchmark: image files each with a sibling `.txt` (same stem), one line per plate
  `filename x y w h PLATE`, tab- or space-separated (in the folder and its subfolders; a line
  belongs to the image it names when that file is beside it);
- scenes: `labels.jsonl` beside `images/`, one JSON object per image
  `{"image", "source", "plates": [{"box": [x, y, w, h], "text", "corners"}]}`.
The fixed train/validation split of the scenes layout lives here (`scene_split`) so that the
trainer and `alpr eval` can never disagree about it. `load_extra_plates` reads the plates the
scene labels leave out (docs/eval/scene_extra_plates.json, labelled by eye).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
# Dash-cam videos held out whole (never split frame by frame: neighbours are near-duplicates).
VAL_VIDEOS = ("rl_dayride_type1_002", "rl_dayride_type1_003")
_VIDEO = re.compile(r"^(rl_.+?)_t\d+\.\w+$")


class DatasetError(ValueError):
    """A labelled folder is missing or malformed."""


@dataclass(frozen=True)
class Plate:
    box: tuple[float, float, float, float]  # x, y, w, h in image pixels
    text: str | None = None
    corners: np.ndarray | None = None  # (4, 2) TL, TR, BR, BL, or None when unlabelled


@dataclass
class LabelledImage:
    path: Path
    plates: list[Plate] = field(default_factory=list)
    source: str = ""
    name: str = ""  # how reports name it: the file name, or its path under the folder read

    def __post_init__(self) -> None:
        self.name = self.name or self.path.name


def video_of(image: str) -> str | None:
    """The dash-cam video a scenes frame was cut from (None for a still photograph)."""
    m = _VIDEO.match(image)
    return m.group(1) if m else None


def scene_split(image: str, source: str) -> str:
    """"train" or "val" for one scenes image: whole videos for the dash-cam frames, the source's
    own val list for open-lpr, a fixed hash of the file name (1 in 5) for the rest."""
    video = video_of(image)
    if video:
        return "val" if video in VAL_VIDEOS else "train"
    if image.startswith("openlpr_"):
        return "val" if image.startswith("openlpr_val_") else "train"
    digest = hashlib.sha256(image.encode()).digest()
    return "val" if digest[0] % 5 == 0 else "train"


def _plate_from_json(p: dict, where: str) -> Plate:
    try:
        x, y, w, h = (float(v) for v in p["box"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(f"{where}: bad plate box {p!r}") from exc
    corners = p.get("corners")
    if corners is not None:
        corners = np.asarray(corners, np.float32).reshape(4, 2)
    return Plate((x, y, w, h), p.get("text"), corners)


def load_scenes(root: Path, split: str = "val") -> list[LabelledImage]:
    """Images of a scenes folder in the given split ("train", "val" or "all")."""
    labels = root / "labels.jsonl"
    out = []
    for n, line in enumerate(labels.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            name, source = rec["image"], rec.get("source", "")
        except (ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{labels}:{n}: not a label record: {exc}") from exc
        if split != "all" and scene_split(name, source) != split:
            continue
        plates = rec.get("plates", [])
        if not isinstance(plates, list):
            raise DatasetError(f"{labels}:{n}: 'plates' must be a list, got {plates!r}")
        plates = [_plate_from_json(p, f"{labels}:{n}") for p in plates]
        out.append(LabelledImage(root / "images" / name, plates, source))
    return out


@dataclass
class ExtraPlates:
    """Plates the scene labels leave out, found by eye among a detector's candidates.

    `plates`: image name -> boxes of real plates; `dont_care`: image name -> boxes of regions
    that may be a plate (partly hidden, too unsure to call); `reviewed`: the images whose every
    candidate was judged, so that any other candidate there is known not to be a plate."""
    plates: dict[str, list[tuple]] = field(default_factory=dict)
    dont_care: dict[str, list[tuple]] = field(default_factory=dict)
    reviewed: set[str] = field(default_factory=set)

    def boxes(self, image: str) -> list[tuple]:
        """Every extra region of an image (plates and don't care)."""
        return self.plates.get(image, []) + self.dont_care.get(image, [])


def _extra_entry(e: object, where: str) -> tuple[str, tuple, str, bool]:
    try:
        image, split = str(e["image"]), e["split"]
        x, y, w, h = (float(v) for v in e["box"])
        dont_care = bool(e.get("dont_care", False))
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(f"{where}: not an extra plate {e!r}") from exc
    if w <= 0 or h <= 0:
        raise DatasetError(f"{where}: box has no area in {e!r}")
    if split != scene_split(image, ""):
        raise DatasetError(f"{where}: {image} is in split {scene_split(image, '')!r}, "
                           f"the entry says {split!r}")
    return image, (x, y, w, h), split, dont_care


def load_extra_plates(path: str | Path, split: str = "all") -> ExtraPlates:
    """The extra plates of one split ("train", "val" or "all") from a JSON file
    {"plates": [{"image", "box": [x, y, w, h], "split", "note", "dont_care"?}],
    "reviewed": [image, ...]}. A malformed file or an entry in the wrong split is refused."""
    try:
        doc = json.loads(Path(path).read_text())
        entries, reviewed = doc["plates"], doc.get("reviewed", [])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path}: not an extra-plates file ({exc})") from exc
    if not isinstance(entries, list) or not isinstance(reviewed, list):
        raise DatasetError(f"{path}: 'plates' and 'reviewed' must be lists")
    out = ExtraPlates()
    for n, e in enumerate(entries):
        image, box, where, dont_care = _extra_entry(e, f"{path}: plates[{n}]")
        if split in ("all", where):
            (out.dont_care if dont_care else out.plates).setdefault(image, []).append(box)
    out.reviewed = {str(r) for r in reviewed if split in ("all", scene_split(str(r), ""))}
    return out


def _fields(line: str) -> list[str]:
    """A label line's fields: its tab-separated ones when it has all five (a file name may hold a
    space), else its blank-separated ones."""
    tabs = [f.strip() for f in line.strip().split("\t")]
    return tabs if len(tabs) >= 5 and all(tabs[:5]) else line.split()


def parse_openalpr_line(line: str, where: str) -> Plate:
    parts = _fields(line)
    if len(parts) < 5:
        raise DatasetError(f"{where}: expected 'filename x y w h PLATE', got {line!r}")
    try:
        x, y, w, h = (float(v) for v in parts[1:5])
    except ValueError as exc:
        raise DatasetError(f"{where}: box is not numeric in {line!r}") from exc
    if w <= 0 or h <= 0:
        raise DatasetError(f"{where}: box has no area in {line!r}")
    text = "".join(parts[5:]).upper() or None
    return Plate((x, y, w, h), text)


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _folders(root: Path) -> list[Path]:
    """root and its subfolders (not hidden ones) that hold images: `alpr eval endtoend/` then
    reads the benchmark's us/ and eu/ folders together."""
    found = {p.parent for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
             and not any(part.startswith(".") for part in p.relative_to(root).parts)}
    return sorted(found)


def _load_openalpr_folder(folder: Path, root: Path) -> tuple[list[LabelledImage], int]:
    """One folder: each line goes to the image it names when that file is here (the
    benchmark's br set has PAG5219.txt describing PAG5219.png beside a PAG5219.jpg), else to
    the image with the .txt's stem."""
    images = _images_in(folder)
    by_name = {p.name: p for p in images}
    plates: dict[Path, list[Plate]] = {}
    for txt in sorted(folder.glob("*.txt")):
        own = next((p for p in images if p.stem == txt.stem), None)
        lines = [ln for ln in _label_text(txt).splitlines() if ln.strip()]
        if own is not None:
            plates.setdefault(own, [])
        for i, line in enumerate(lines, 1):
            named = by_name.get(_fields(line)[0])
            target = named or own
            if target is None:
                logger.warning("%s:%d names no image in %s; line skipped", txt, i, folder)
                continue
            plates.setdefault(target, []).append(parse_openalpr_line(line, f"{txt}:{i}"))
    # An image whose own .txt describes another file (and nothing describes it) is unlabelled.
    labelled = [p for p in images if p in plates and (plates[p] or _own_txt_is_empty(p))]
    return ([LabelledImage(p, plates[p], "openalpr", p.relative_to(root).as_posix())
             for p in labelled],
            len(images) - len(labelled))


def _own_txt_is_empty(image: Path) -> bool:
    """A .txt with no lines marks an image with no plate (a negative example)."""
    txt = image.with_suffix(".txt")
    return txt.exists() and not _label_text(txt).strip()


def _label_text(txt: Path) -> str:
    """A label file's text; a byte-order mark (Windows editors) is not part of its first name."""
    return txt.read_text(encoding="utf-8-sig", errors="replace")


def load_openalpr(root: Path) -> list[LabelledImage]:
    """Labelled images of root and its subfolders; images without a label are skipped (and
    logged)."""
    out, skipped = [], 0
    for folder in _folders(root):
        items, unlabelled = _load_openalpr_folder(folder, root)
        out += items
        skipped += unlabelled
    if skipped:
        logger.warning("%d images in %s have no .txt label and were skipped", skipped, root)
    return out


def load_dataset(root: str | Path, split: str = "val") -> list[LabelledImage]:
    """Detect the layout of `root` and load it (the split applies to the scenes layout only)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder")
    if (root / "labels.jsonl").exists() and (root / "images").is_dir():
        items = load_scenes(root, split)
        _check_present(items, root)
    else:
        items = load_openalpr(root)
    if not items:
        raise DatasetError(f"{root}: no labelled images found (expected OpenALPR .txt files "
                           "beside the images, or labels.jsonl beside images/)")
    return items


def _check_present(items: list[LabelledImage], root: Path) -> None:
    """Refuse a folder whose labels name images that are not there: evaluating without them
    would report figures over fewer plates than labelled (and fail late, after the others)."""
    missing = [i.path.name for i in items if not i.path.is_file()]
    if missing:
        raise DatasetError(f"{root}: {len(missing)} labelled images are missing from images/: "
                           + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""))


def match(pred: np.ndarray, gt: np.ndarray, iou_threshold: float = 0.3) -> tuple[np.ndarray, int]:
    """Greedy one-to-one matching by IoU. Returns (index of the matched prediction for each
    ground-truth box or -1, number of unmatched predictions = false positives)."""
    from inference.detector import iou_xywh

    pred = np.asarray(pred, np.float32).reshape(-1, 4)
    gt = np.asarray(gt, np.float32).reshape(-1, 4)
    assigned = np.full(len(gt), -1, np.int64)
    if len(pred) and len(gt):
        ious = iou_xywh(gt, pred)
        for flat in np.argsort(-ious, axis=None, kind="stable"):
            g, p = divmod(int(flat), len(pred))
            if ious[g, p] < iou_threshold:
                break
            if assigned[g] < 0 and p not in assigned:
                assigned[g] = p
    return assigned, int(len(pred) - np.count_nonzero(assigned >= 0))


def on_extra(pred: np.ndarray, assigned: np.ndarray, extra_boxes,
             iou_threshold: float = 0.3) -> int:
    """How many predictions matching no labelled plate (`assigned` from `match`) overlap an
    extra plate (ExtraPlates.boxes): real plates the labels leave out, not false positives."""
    from inference.detector import iou_xywh

    pred = np.asarray(pred, np.float32).reshape(-1, 4)
    free = np.setdiff1d(np.arange(len(pred)), assigned[assigned >= 0])
    extra_boxes = np.asarray(extra_boxes, np.float32).reshape(-1, 4)
    if not len(free) or not len(extra_boxes):
        return 0
    return int(np.count_nonzero(iou_xywh(pred[free], extra_boxes).max(1) >= iou_threshold))
