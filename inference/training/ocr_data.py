"""OCR training data: real crops, crops cut from labelled scenes, synthetic plates, augmentation.

Validation split (fixed, documented in docs/ocr.md): an image is held out when the first byte of
sha256(file name) is divisible by 5 (about 20 %). It is the rule of
inference.eval_data.scene_split for the Brazilian scenes, so `alpr eval --split val` runs on
scenes neither the detector nor the OCR saw; the US crops use the same rule.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference.formats import ALPHABET, normalise
from inference.rectify import OCR_SIZE, rectify

logger = logging.getLogger(__name__)

SLOTS = 10
PAD = len(ALPHABET)  # class index of the pad symbol
CLASSES = len(ALPHABET) + 1
STORE_W = 288  # real crops are kept at 2x the OCR width so geometric augmentation stays sharp
LOOSE_SHARE = 0.5  # samples cropped with loose sides (see loosen)
STACKED_SHARE = 0.12  # US synthetic plates with small stacked letters beside the serial


def is_validation(name: str) -> bool:
    """The fixed held-out rule: sha256(file name)[0] % 5 == 0 (about 20 % of images)."""
    return hashlib.sha256(Path(name).name.encode()).digest()[0] % 5 == 0


def encode(text: str) -> np.ndarray:
    """Text -> SLOTS class indices, left-aligned, padded with PAD."""
    text = normalise(text)
    if not text or len(text) > SLOTS:
        raise ValueError(f"plate text must have 1..{SLOTS} characters, got {text!r}")
    out = np.full(SLOTS, PAD, np.int32)
    out[: len(text)] = [ALPHABET.index(c) for c in text]
    return out


@dataclass
class RealCrop:
    name: str
    text: str
    image: np.ndarray  # gray uint8, plate plus any margin
    corners: np.ndarray  # (4, 2) plate corners in `image`
    source: str


def _store(gray: np.ndarray, corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = STORE_W / max(1, gray.shape[1])
    if f < 1:
        gray = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        corners = corners * f
    return gray, corners.astype(np.float32)


def load_us_crops(root: Path) -> list[RealCrop]:
    """The openalpr US crops: tight plate crops; the plate fills the image."""
    out = []
    for line in (root / "crops.jsonl").read_text().splitlines():
        rec = json.loads(line)
        text = normalise(rec["text"])
        img = cv2.imread(str(root / "images" / rec["image"]), cv2.IMREAD_GRAYSCALE)
        if img is None or not text or len(text) > SLOTS:
            logger.warning("skipping crop %s", rec["image"])
            continue
        h, w = img.shape
        corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
        g, c = _store(img, corners)
        out.append(RealCrop(rec["image"], text, g, c, "us-crops"))
    return out


def load_scene_crops(
    root: Path, sources: tuple[str, ...] = ("openalpr/benchmarks:br",)
) -> list[RealCrop]:
    """Plates with text cut from the labelled scenes, with 25 % context round the box."""
    out = []
    for line in (root / "labels.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec["source"] not in sources:
            continue
        plates = [p for p in rec["plates"] if _usable(p.get("text"))]
        out += _cut(root / "images" / rec["image"], plates, rec["source"])
    return out


def load_transcribed(path: Path, scenes: Path) -> list[RealCrop]:
    """Plates of the scenes' *training* split with text transcribed by us (docs/eval/*.json,
    `{"plates": [{"image", "box", "text"}]}`). Plates of validation images are never loaded,
    whatever the file holds, so a transcription of held-out frames cannot leak into training."""
    from inference.eval_data import scene_split

    records = [json.loads(line) for line in (scenes / "labels.jsonl").read_text().splitlines()
               if line.strip()]
    sources = {rec["image"]: rec.get("source", "") for rec in records}
    by_image: dict[str, list[dict]] = {}
    for p in json.loads(path.read_text())["plates"]:
        if p["image"] not in sources:
            raise ValueError(f"{path}: {p['image']} is not a scene of {scenes}")
        if _usable(p.get("text")) and scene_split(p["image"], sources[p["image"]]) == "train":
            by_image.setdefault(p["image"], []).append(p)
    out = []
    for name, plates in sorted(by_image.items()):
        out += _cut(scenes / "images" / name, plates, f"transcribed:{path.name}")
    return out


def _usable(text: str | None) -> bool:
    return 0 < len(normalise(text or "")) <= SLOTS


def _cut(image_path: Path, plates: list[dict], source: str) -> list[RealCrop]:
    """Each plate of one scene with 25 % context round its box (corners when labelled)."""
    if not plates:
        return []
    img = cv2.imread(str(image_path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        logger.warning("unreadable scene %s", image_path.name)
        return []
    out = []
    for plate in plates:
        x, y, w, h = plate["box"]
        if plate.get("corners"):
            quad = np.array(plate["corners"], np.float32)
        else:
            quad = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)
        x0, y0 = int(max(0, x - 0.25 * w)), int(max(0, y - 0.5 * h))
        x1, y1 = int(min(img.shape[1], x + 1.25 * w)), int(min(img.shape[0], y + 1.5 * h))
        g, c = _store(img[y0:y1, x0:x1], quad - [x0, y0])
        out.append(RealCrop(image_path.name, normalise(plate["text"]), g, c, source))
    return out


def jitter_corners(corners: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Move each corner by up to `amount` of the plate's size: a detector is never exact."""
    size = np.ptp(corners, axis=0)
    return corners + rng.uniform(-amount, amount, (4, 2)) * size


def loosen(corners: np.ndarray, rng: np.random.Generator, p: float = LOOSE_SHARE) -> np.ndarray:
    """With probability p, move each side of the quad (TL, TR, BR, BL) out by its own amount
    (sides -2..+14 % of the width, top/bottom -4..+20 % of the height): the crop then shows the
    plate's edge, frame and background beside the characters, as a loose detector box or the
    pipeline's wider second crop does, and the model learns that they are not characters."""
    if rng.random() >= p:
        return corners
    c = np.asarray(corners, np.float32).copy()
    across, down = (c[1] - c[0] + c[2] - c[3]) / 2, (c[3] - c[0] + c[2] - c[1]) / 2
    left, right = rng.uniform(-0.02, 0.14, 2)
    top, bottom = rng.uniform(-0.04, 0.20, 2)
    c[[0, 3]] -= left * across
    c[[1, 2]] += right * across
    c[[0, 1]] -= top * down
    c[[2, 3]] += bottom * down
    return c


def real_sample(crop: RealCrop, rng: np.random.Generator) -> np.ndarray:
    """One augmented, rectified (48, 144) crop of a real plate."""
    c = loosen(jitter_corners(crop.corners, rng, 0.06), rng)
    return rectify(crop.image, c, size=OCR_SIZE, margin=float(rng.uniform(0.0, 0.06)))


def synthetic_sample(rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """A rendered plate, rectified from its jittered corners as the pipeline would."""
    from inference.training.render import render_plate

    look = "ir" if rng.random() < 0.2 else "day"
    plate = render_plate(rng, look=look, width=int(rng.integers(60, 260)), stacked=STACKED_SHARE)
    c = loosen(jitter_corners(plate.corners, rng, 0.05), rng)
    return rectify(plate.image, c, size=OCR_SIZE, margin=float(rng.uniform(0.0, 0.06))), plate.text


def synthetic_pool(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """n synthetic crops (n, 48, 144) uint8 with labels (n, SLOTS) and texts."""
    rng = np.random.default_rng(seed)
    xs = np.empty((n, OCR_SIZE[1], OCR_SIZE[0]), np.uint8)
    ys = np.empty((n, SLOTS), np.int32)
    texts = []
    for i in range(n):
        xs[i], text = synthetic_sample(rng)
        ys[i] = encode(text)
        texts.append(text)
        if i and i % 2000 == 0:
            logger.info("rendered %d/%d synthetic plates", i, n)
    return xs, ys, texts


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Photometric and small geometric changes on one (48, 144) uint8 crop."""
    h, w = x.shape
    if rng.random() < 0.5:
        m = cv2.getRotationMatrix2D(
            (w / 2, h / 2), float(rng.normal(0, 1.5)), float(rng.uniform(0.92, 1.06))
        )
        m[:, 2] += rng.normal(0, [w * 0.015, h * 0.03])
        m[0, 1] += rng.normal(0, 0.06)
        x = cv2.warpAffine(x, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.3:  # small plates: detail lost to resolution
        f = rng.uniform(0.35, 0.8)
        small = cv2.resize(x, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        x = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.25:
        x = cv2.GaussianBlur(x, (0, 0), float(rng.uniform(0.4, 1.3)))
    f = x.astype(np.float32)
    f = (f - 128) * rng.uniform(0.5, 1.4) + 128 + rng.uniform(-50, 50)
    if rng.random() < 0.3:  # uneven light: a gradient across the plate
        f += np.linspace(-1, 1, w, dtype=np.float32)[None, :] * rng.uniform(-40, 40)
    f += rng.normal(0, rng.uniform(0, 9), f.shape)
    x = np.clip(f, 0, 255).astype(np.uint8)
    if rng.random() < 0.08:  # light characters on a dark plate (e.g. Delaware, some specials)
        x = 255 - x
    if rng.random() < 0.25:
        _, buf = cv2.imencode(".jpg", x, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 90))])
        x = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return x
