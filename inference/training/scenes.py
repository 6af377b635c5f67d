"""Training patches for the detector: real scenes, real US plate crops pasted with perspective.

Every sample is a square grayscale patch at model-input scale with the plates it contains as
corner quads (TL, TR, BR, BL). Sources, mixed per sample:
- a real labelled scene, rescaled so that one of its plates gets a random width (or a random
  window: background and whatever plates it holds);
- a real scene window with real US crops (and synthetic plates from the renderer, when it is
  available) pasted onto it with random perspective, away from the labelled plates.
- (stage 3) a real scene window centred on a mined hard negative (a badge, lamp or sign the
  detector fired on; `inference.training.detector_mining`), which is plain background there.
Mined regions that look like unlabelled plates are "don't care" wherever they land.
`targets()` turns the quads into the model's heatmap and regression maps.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from inference.detector import STRIDE
from inference.eval_data import ExtraPlates, load_scenes

logger = logging.getLogger(__name__)

MIN_PLATE_W = 12.0  # plates narrower than this (input px) are "don't care", not positives
MAX_SIDE = 1280  # scenes are kept in memory at most this large (grayscale)


@dataclass
class Scene:
    image: np.ndarray  # gray uint8
    quads: np.ndarray  # (N, 4, 2) float32 in image pixels
    exact: np.ndarray  # (N,) bool: corners labelled (True) or taken from the box (False)
    # mined by inference.training.detector_mining (empty without a mining file):
    negatives: np.ndarray = field(default_factory=lambda: np.zeros((0, 4, 2), np.float32))
    ignore: np.ndarray = field(default_factory=lambda: np.zeros((0, 4, 2), np.float32))


def box_quad(box) -> np.ndarray:
    x, y, w, h = box
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)


def _mined_quads(mined: dict | None, name: str, kind: str, s: float) -> np.ndarray:
    boxes = [c["box"] for c in (mined or {}).get(name, ()) if c["kind"] == kind]
    return np.asarray([box_quad(b) * s for b in boxes], np.float32).reshape(-1, 4, 2)


def load_scene_bank(scenes_dir: Path, split: str = "train", limit: int | None = None,
                    max_side: int = MAX_SIDE, mined: dict | None = None,
                    extra: ExtraPlates | None = None) -> list[Scene]:
    """Scenes of a split, gray and at most max_side; `mined`: the "images" mapping of a
    mining file (image name -> candidates with "box" and "kind"); `extra`: plates the labels
    leave out (positives like labelled plates, corners from the box) and don't-care regions."""
    if (mined or extra) and split != "train":
        raise ValueError("mined regions and extra plates come from the training split only")
    extra = extra or ExtraPlates()
    bank = []
    for item in load_scenes(scenes_dir, split)[:limit]:
        img = cv2.imread(str(item.path), cv2.IMREAD_GRAYSCALE)
        if img is None:
            logger.warning("unreadable scene %s skipped", item.path)
            continue
        s = min(1.0, max_side / max(img.shape))
        if s < 1:
            img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        name = item.path.name
        quads = [(p.corners if p.corners is not None else box_quad(p.box)) * s for p in item.plates]
        quads += [box_quad(b) * s for b in extra.plates.get(name, ())]
        exact = [p.corners is not None for p in item.plates]
        exact += [False] * (len(quads) - len(exact))
        ignore = [box_quad(b) * s for b in extra.dont_care.get(name, ())]
        bank.append(Scene(img, np.asarray(quads, np.float32).reshape(-1, 4, 2),
                          np.asarray(exact, bool),
                          _mined_quads(mined, name, "hard_negative", s),
                          np.concatenate([_mined_quads(mined, name, "dont_care", s),
                                          np.asarray(ignore, np.float32).reshape(-1, 4, 2)])))
    return bank


def load_crops(crops_dir: Path, limit: int | None = None) -> list[np.ndarray]:
    crops = []
    for line in (crops_dir / "crops.jsonl").read_text().splitlines()[:limit]:
        if line.strip():
            img = cv2.imread(str(crops_dir / "images" / json.loads(line)["image"]),
                             cv2.IMREAD_GRAYSCALE)
            if img is not None:
                crops.append(img)
    return crops


def _scene_window(rng: np.random.Generator, scene: Scene, size: int, plate_centred: bool,
                  min_w: float = 14, focus: tuple[np.ndarray, float] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rescale + small rotation + crop of a scene; returns the patch, its plate quads and its
    don't-care quads. `focus`: (quad, width in patch px) to centre the window on instead."""
    img = scene.image
    h, w = img.shape
    if focus is not None:
        q, target_w = focus
        s = target_w / max(np.ptp(q[:, 0]), 1.0)
        centre = q.mean(0) + rng.uniform(-0.35, 0.35, 2) * size / s
    elif plate_centred and len(scene.quads):
        q = scene.quads[rng.integers(len(scene.quads))]
        target_w = np.exp(rng.uniform(np.log(min_w), np.log(0.9 * size)))
        s = target_w / max(np.ptp(q[:, 0]), 1.0)
        centre = q.mean(0) + rng.uniform(-0.4, 0.4, 2) * size / s
    else:
        s = np.exp(rng.uniform(np.log(1.5), np.log(5.0))) * size / max(h, w)
        centre = np.array([rng.uniform(0, w), rng.uniform(0, h)])
    s = float(np.clip(s, 0.02, 3.0))
    if s < 1:  # area-average first: warpAffine alone aliases when shrinking
        img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        k, centre = s, centre * s
    else:
        k = 1.0
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])),
                                float(rng.uniform(-3, 3)), s / k)
    m[:, 2] += size / 2 - centre
    patch = cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    quads, ignore = (q * k @ m[:, :2].T + m[:, 2] if len(q) else q
                     for q in (scene.quads, scene.ignore))
    return patch, quads.astype(np.float32), ignore.astype(np.float32)


def _paste_quad(rng: np.random.Generator, size: int, aspect: float,
                min_w: float = 14) -> np.ndarray:
    """A random perspective quad for a plate of the given width/height aspect."""
    w = np.exp(rng.uniform(np.log(min_w), np.log(0.8 * size)))
    h = w / aspect * rng.uniform(0.85, 1.15)
    cx, cy = rng.uniform(0.1, 0.9, 2) * size
    yaw = rng.uniform(-0.35, 0.35)  # one side shorter: the plate is turned away
    shear = rng.uniform(-0.15, 0.15) * h
    pts = np.array([[-w / 2, -h / 2 * (1 - yaw)], [w / 2, -h / 2 * (1 + yaw)],
                    [w / 2, h / 2 * (1 + yaw)], [-w / 2, h / 2 * (1 - yaw)]], np.float32)
    pts[:, 0] += np.array([shear, shear, -shear, -shear]) / 2
    pts[:, 0] *= 1 - abs(yaw) * 0.5
    a = np.deg2rad(rng.uniform(-10, 10))
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    return pts @ rot.T + np.array([cx, cy], np.float32)


def paste(rng: np.random.Generator, patch: np.ndarray, plate: np.ndarray, quad: np.ndarray,
          src: np.ndarray | None = None) -> None:
    """Warp a plate image (its corners `src`, default the image corners) onto quad, in place,
    with its own brightness."""
    h, w = plate.shape
    src_given = src is not None
    if src is None:
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(src.astype(np.float32), quad.astype(np.float32))
    size = patch.shape[::-1]
    warped = cv2.warpPerspective(plate, m, size, flags=cv2.INTER_AREA if w > 2 * np.ptp(quad[:, 0])
                                 else cv2.INTER_LINEAR)
    if src_given:  # rendered plates carry a margin of scenery: keep only the plate and a rim
        rim = (src - src.mean(0)) * rng.uniform(1.02, 1.12) + src.mean(0)
        mask = cv2.fillConvexPoly(np.zeros((h, w), np.uint8), rim.astype(np.int32), 255)
        mask = cv2.warpPerspective(cv2.GaussianBlur(mask, (0, 0), 1.0), m, size)
    else:
        mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, size)
    gain = rng.uniform(0.5, 1.2)
    alpha = mask.astype(np.float32) / 255
    blended = patch * (1 - alpha) + np.clip(warped * gain + rng.uniform(-20, 20), 0, 255) * alpha
    patch[:] = blended.astype(np.uint8)


def _overlaps(quad: np.ndarray, others: list[np.ndarray], margin: float = 4) -> bool:
    x0, y0 = quad.min(0) - margin
    x1, y1 = quad.max(0) + margin
    for o in others:
        if o[:, 0].max() > x0 and o[:, 0].min() < x1 and o[:, 1].max() > y0 and o[:, 1].min() < y1:
            return True
    return False


def augment(rng: np.random.Generator, patch: np.ndarray) -> np.ndarray:
    """Photometric changes of a whole patch: exposure, gamma, blur, noise, JPEG."""
    x = patch.astype(np.float32)
    x = x * rng.uniform(0.5, 1.4) + rng.uniform(-40, 40)
    x = 255 * (np.clip(x, 0, 255) / 255) ** rng.uniform(0.6, 1.7)
    if rng.random() < 0.3:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.5, 1.5))
    if rng.random() < 0.15:
        k = np.zeros((7, 7), np.float32)
        n = int(rng.integers(3, 8))
        k[3, (7 - n) // 2:(7 - n) // 2 + n] = 1 / n
        m = cv2.getRotationMatrix2D((3, 3), float(rng.uniform(-30, 30)), 1)
        x = cv2.filter2D(x, -1, cv2.warpAffine(k, m, (7, 7)))
    if rng.random() < 0.4:
        x = x + rng.normal(0, rng.uniform(2, 10), x.shape).astype(np.float32)
    out = np.clip(x, 0, 255).astype(np.uint8)
    if rng.random() < 0.2:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 85))])
        out = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return out


_WORDS = ("STOP", "EXIT", "SALE", "PARKING", "Pizza", "Hotel", "Open 24h", "ONE WAY", "Bank",
          "Pharmacy", "Taxi", "www.example.com", "Call 555-0199", "Bus Lane", "KEEP CLEAR",
          "Delivery", "Service", "Motors", "Street", "Garage", "Cafe", "Market", "NO ENTRY")


def distractor(rng: np.random.Generator) -> np.ndarray:
    """A gray text block that is not a plate (signs, shop fronts, truck lettering): several
    lines or one long line, for the detector to learn to ignore."""
    lines = int(rng.integers(1, 4))
    per_line = (2, 4) if lines > 1 else (3, 5)  # a single line is kept much longer than a plate
    words = [" ".join(rng.choice(_WORDS, int(rng.integers(*per_line)))) for _ in range(lines)]
    font = int(rng.choice([cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX,
                           cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX]))
    scale, thick = float(rng.uniform(0.8, 1.6)), int(rng.integers(1, 4))
    sizes = [cv2.getTextSize(w, font, scale, thick)[0] for w in words]
    lh = max(sz[1] for sz in sizes) + 12
    w, h = max(sz[0] for sz in sizes) + 20, lh * lines + 10
    dark, light = int(rng.integers(0, 90)), int(rng.integers(150, 255))
    bg, fg = (dark, light) if rng.random() < 0.5 else (light, dark)
    img = np.full((h, w), bg, np.uint8)
    for i, word in enumerate(words):
        cv2.putText(img, word, (10, lh * (i + 1)), font, scale, fg, thick, cv2.LINE_AA)
    return img


def _mirror(quads: np.ndarray, size: int) -> np.ndarray:
    out = quads[:, [1, 0, 3, 2]] * np.array([-1, 1], np.float32)
    out[:, :, 0] += size
    return out


class PatchSampler:
    """Draws (patch, quads, exact, ignore) training samples; deterministic for a given rng.

    `min_w`: smallest plate width (input px) drawn for plate-centred windows and pasted plates.
    `p_negative`: share of windows centred on a mined hard negative (scenes' `negatives`; taken
    from the plate-centred share), at the scale the detector saw it in a full frame letterboxed
    to `input_size`, times 0.6-1.7. Without mined negatives the sampler draws exactly as before.
    """

    def __init__(self, scenes: list[Scene], crops: list[np.ndarray], size: int = 256,
                 renderer=None, p_paste: float = 0.4, p_random: float = 0.15,
                 p_distractor: float = 0.25, min_w: float = 14, p_negative: float = 0.0,
                 input_size: tuple[int, int] = (640, 384)) -> None:
        if not scenes:
            raise ValueError("no training scenes")
        if p_paste + p_random + p_negative > 1:
            raise ValueError("p_paste + p_random + p_negative must not exceed 1")
        self.scenes, self.crops, self.size = scenes, crops, size
        self.renderer = renderer  # optional: rng -> (gray plate image, its (4,2) corners)
        self.p_paste, self.p_random, self.p_distractor = p_paste, p_random, p_distractor
        self.min_w, self.p_negative, self.input_size = min_w, p_negative, input_size
        self.negatives = [(i, j) for i, sc in enumerate(scenes) for j in range(len(sc.negatives))]

    def _plate(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        if self.renderer is not None and (not self.crops or rng.random() < 0.5):
            return self.renderer(rng)
        return self.crops[rng.integers(len(self.crops))], None

    def _negative(self, rng: np.random.Generator) -> tuple[Scene, tuple[np.ndarray, float]]:
        """A mined hard negative: its scene and (quad, width in patch px) to centre on."""
        i, j = self.negatives[rng.integers(len(self.negatives))]
        scene = self.scenes[i]
        q = scene.negatives[j]
        h, w = scene.image.shape
        seen = min(self.input_size[0] / w, self.input_size[1] / h)  # the detector's scale
        width = np.ptp(q[:, 0]) * seen * np.exp(rng.uniform(np.log(0.6), np.log(1.7)))
        return scene, (q, float(width))

    def sample(self, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(patch, plate quads, exact, don't-care quads)."""
        scene = self.scenes[rng.integers(len(self.scenes))]
        r = rng.random()
        focus = None
        if self.negatives and r >= 1 - self.p_negative:
            scene, focus = self._negative(rng)
        pasting = r < self.p_paste and (self.crops or self.renderer is not None)
        patch, quads, ignore = _scene_window(rng, scene, self.size, plate_centred=not pasting
                                             and r >= self.p_paste + self.p_random,
                                             min_w=self.min_w, focus=focus)
        exact = list(scene.exact)
        quads = list(quads)
        if pasting:
            for _ in range(int(rng.integers(1, 4))):
                plate, src = self._plate(rng)
                ph, pw = plate.shape
                aspect = (np.ptp(src[:, 0]) / max(np.ptp(src[:, 1]), 1)) if src is not None \
                    else pw / ph
                quad = _paste_quad(rng, self.size, aspect, self.min_w)
                if _overlaps(quad, quads + list(ignore)):
                    continue
                paste(rng, patch, plate, quad, src)
                quads.append(quad)
                exact.append(True)
        if rng.random() < self.p_distractor:  # unlabelled text that is not a plate
            text = distractor(rng)
            th, tw = text.shape
            quad = _paste_quad(rng, self.size, tw / th)
            if not _overlaps(quad, quads):
                paste(rng, patch, text, quad)
        patch = augment(rng, patch)
        quads = np.asarray(quads, np.float32).reshape(-1, 4, 2)
        exact = np.asarray(exact, bool)
        if rng.random() < 0.5:  # mirror: the detector does not read, so mirrored plates are fine
            patch = patch[:, ::-1].copy()
            quads, ignore = _mirror(quads, self.size), _mirror(ignore, self.size)
        return patch, quads, exact, ignore


def _box_cells(q: np.ndarray, size: int, stride: int) -> tuple[slice, slice]:
    """The heatmap cells (rows, columns) a quad's bounding box covers, clipped to the patch."""
    x0, y0 = q.min(0)
    x1, y1 = q.max(0)
    c0, r0 = int(max(x0 // stride, 0)), int(max(y0 // stride, 0))
    c1, r1 = int(np.ceil(min(x1, size) / stride)), int(np.ceil(min(y1, size) / stride))
    return slice(r0, max(r1, r0)), slice(c0, max(c1, c0))


def targets(quads: np.ndarray, exact: np.ndarray, size: int, stride: int = STRIDE,
            box_corner_weight: float = 0.25, min_plate_w: float = MIN_PLATE_W,
            ignore: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Heatmap, regression maps and masks for one patch (see inference.detector for the layout).

    Plates narrower than min_plate_w or mostly outside the patch are "don't care", and so are
    the `ignore` quads (mined regions that look like unlabelled plates), except where a
    labelled plate's centre peak lies."""
    g = size // stride
    heat = np.zeros((g, g), np.float32)
    heat_w = np.ones((g, g), np.float32)  # 0 = don't care (tiny or mostly hidden plates)
    reg = np.zeros((g, g, 12), np.float32)
    reg_w = np.zeros((g, g), np.float32)
    corner_w = np.zeros((g, g), np.float32)
    ys, xs = np.mgrid[0:g, 0:g].astype(np.float32) + 0.5
    for q, ex in zip(quads, exact, strict=True):
        x0, y0 = q.min(0)
        x1, y1 = q.max(0)
        w, h = x1 - x0, y1 - y0
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        vis = (min(x1, size) - max(x0, 0)) * (min(y1, size) - max(y0, 0)) / max(w * h, 1e-6)
        if w < min_plate_w or h < 3 or vis < 0.6 or not (0 <= cx < size and 0 <= cy < size):
            heat_w[_box_cells(q, size, stride)] = 0
            continue
        sx, sy = max(0.5, 0.1 * w / stride), max(0.5, 0.1 * h / stride)
        gauss = np.exp(-((xs - cx / stride) ** 2 / (2 * sx**2)
                         + (ys - cy / stride) ** 2 / (2 * sy**2)))
        pr, pc = int(cy // stride), int(cx // stride)
        gauss[pr, pc] = 1.0
        region = (gauss >= 0.5) & (gauss > heat)
        heat = np.maximum(heat, gauss)
        t = np.empty((int(region.sum()), 12), np.float32)
        t[:, 0] = cx / stride - xs[region]
        t[:, 1] = cy / stride - ys[region]
        t[:, 2] = np.log(w / stride)
        t[:, 3] = np.log(h / stride)
        t[:, 4:] = ((q - [cx, cy]) / [w, h]).reshape(-1)
        reg[region] = t
        reg_w[region] = 1.0
        corner_w[region] = 1.0 if ex else box_corner_weight
    for q in () if ignore is None else ignore:
        cells = _box_cells(q, size, stride)
        heat_w[cells] = np.where(heat[cells] >= 0.5, heat_w[cells], 0)
    return {"heat": heat[..., None], "heat_w": heat_w[..., None], "reg": reg,
            "reg_w": reg_w[..., None], "corner_w": corner_w[..., None]}
