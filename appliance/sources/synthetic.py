"""Synthetic scenes: vehicles with rendered plates of known text cross the frame.

Everything is a function of (seed, frame index), so a run is reproducible and an end-to-end
test has ground truth with no camera. `render_plate` is also what other code (OCR tests,
hw_tests) uses to draw a unit-side synthetic plate with the shipped DejaVu font.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from appliance.sources.base import BaseSource, Faults, Frame, Pacer, stamp

FONT_PATH = Path(__file__).with_name("assets") / "DejaVuSansCondensed-Bold.ttf"
STATES = ("CALIFORNIA", "NEVADA", "OREGON", "ARIZONA", "TEXAS")
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # US plates avoid I, O, Q in serials
_DIGITS = "0123456789"


@functools.lru_cache(maxsize=32)
def _font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), px)


def random_plate_text(rng: random.Random) -> str:
    """A US-style plate string, 5-8 characters (California 7ABC123 is the most common)."""
    pattern = rng.choice(("DLLLDDD", "DLLLDDD", "LLLDDDD", "DLLDDD", "LLDDDDD", "DDDLLL",
                          "LLLLDD", "DLLLLDDD", "LLDDD"))
    return "".join(rng.choice(_LETTERS if c == "L" else _DIGITS) for c in pattern)


def render_plate(text: str, width: int = 120, *, state: str | None = "CALIFORNIA",
                 night: bool = False) -> np.ndarray:
    """Draw a US-style plate (2:1, light background, dark characters) as a BGR uint8 image.

    Rendered at 4x and downscaled with area averaging, so small plates look like a camera's.
    `night` gives the retro-reflective IR look (near-white background, black text, gray).
    """
    if not text or width < 16:
        raise ValueError(f"render_plate needs text and width >= 16, got {text!r}, {width}")
    scale = 4
    w, h = width * scale, (width // 2) * scale
    img = Image.new("RGB", (w, h), (236, 238, 240) if not night else (235, 235, 235))
    draw = ImageDraw.Draw(img)
    border = max(2, h // 40)
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=h // 12, outline=(40, 40, 40), width=border)
    if state:
        top = _font(max(8, h // 7))
        draw.text((w / 2, h * 0.15), state, font=top, fill=(170, 30, 30), anchor="mm")
    main = _font(int(h * 0.5))
    text_w = draw.textlength(text, font=main)
    if text_w > w * 0.9:  # long strings: shrink to fit
        main = _font(max(8, int(h * 0.5 * w * 0.9 / text_w)))
    draw.text((w / 2, h * 0.58), text, font=main, fill=(20, 30, 90), anchor="mm")
    out = cv2.resize(np.asarray(img)[:, :, ::-1], (width, width // 2), interpolation=cv2.INTER_AREA)
    if night:
        out = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(out)


@dataclass(frozen=True)
class Vehicle:
    """One pass through the scene, fixed at creation from the seeded generator."""

    index: int
    text: str
    start: int  # first frame index in which the vehicle exists
    frames: int  # frames it takes to cross the frame
    leftward: bool
    plate_w: int
    y: int  # top of the body
    body_bgr: tuple[int, int, int]
    skew_deg: float
    state: str

    @property
    def body_w(self) -> int:
        return int(self.plate_w * 3.4)

    @property
    def body_h(self) -> int:
        return int(self.body_w * 0.5)

    def x_at(self, t: int, frame_w: int) -> int:
        """Left edge of the body at frame index t (linear crossing, off-screen to off-screen)."""
        u = (t - self.start) / max(1, self.frames - 1)
        if self.leftward:
            u = 1 - u
        return int(round(-self.body_w + u * (frame_w + self.body_w)))


class SyntheticScene:
    """Background, vehicle schedule and the renderer of frame t. No I/O, no clock."""

    def __init__(self, width: int, height: int, fps: float, *, seed: int = 1, night: bool = False):
        self.width, self.height, self.fps, self.night = width, height, fps, night
        self._rng = random.Random(seed)
        self._vehicles: list[Vehicle] = []
        self._next_start = int(self._rng.uniform(0.2, 0.6) * fps)
        self._backgrounds = self._make_backgrounds(np.random.default_rng(seed))
        self._plates: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def _make_backgrounds(self, rng: np.random.Generator) -> list[np.ndarray]:
        h, w = self.height, self.width
        base = np.empty((h, w, 3), np.uint8)
        ramp = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        road, sky = (np.array([95, 98, 100]), np.array([160, 140, 120])) if not self.night else \
            (np.array([22, 22, 22]), np.array([10, 10, 10]))
        base[:] = (sky + (road - sky) * np.clip(ramp * 3 - 0.6, 0, 1)).astype(np.uint8)
        for _ in range(12):  # roadside clutter above the road
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h // 4))
            colour = tuple(int(c) for c in rng.integers(20, 120 if self.night else 230, 3))
            cv2.rectangle(base, (x0, y0), (x0 + int(rng.integers(40, 200)), h // 3), colour, -1)
        dash = (200, 200, 200) if not self.night else (60, 60, 60)
        for x in range(0, w, 160):  # lane markings
            cv2.rectangle(base, (x, int(h * 0.92)), (x + 80, int(h * 0.92) + 6), dash, -1)
        sigma = 2.0 if not self.night else 4.0
        layers = []
        for _ in range(4):  # a few sensor-noise variants, cycled: cheap per frame
            noise = rng.normal(0, sigma, (h, w, 1)).astype(np.int16)
            layers.append(np.clip(base.astype(np.int16) + noise, 0, 255).astype(np.uint8))
        return layers

    def _vehicle(self, i: int) -> Vehicle:
        while len(self._vehicles) <= i:
            r, fps = self._rng, self.fps
            plate_w = r.randint(70, 160)
            body_h = int(plate_w * 3.4 * 0.5)
            v = Vehicle(
                index=len(self._vehicles), text=random_plate_text(r), start=self._next_start,
                frames=max(6, int(r.uniform(1.0, 2.0) * fps)), leftward=r.random() < 0.5,
                plate_w=plate_w,
                y=r.randint(self.height // 3, max(self.height // 3, self.height - body_h - 20)),
                body_bgr=tuple(r.randint(30, 220) for _ in range(3)), skew_deg=r.uniform(-6, 6),
                state=r.choice(STATES))
            self._vehicles.append(v)
            self._next_start = v.start + v.frames + int(r.uniform(0.2, 1.2) * fps)
        return self._vehicles[i]

    def vehicles_at(self, t: int) -> list[Vehicle]:
        i = 0
        out = []
        while (v := self._vehicle(i)).start <= t:
            if t < v.start + v.frames:
                out.append(v)
            i += 1
        return out

    def _plate_sprite(self, v: Vehicle) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Skewed plate image, its alpha mask and its corners in sprite coordinates (cached)."""
        if v.index not in self._plates:
            plate = render_plate(v.text, v.plate_w, state=v.state, night=self.night)
            ph, pw = plate.shape[:2]
            pad = int(pw * 0.15)
            m = cv2.getRotationMatrix2D((pw / 2 + pad, ph / 2 + pad), v.skew_deg, 1.0)
            m[0, 1] += np.tan(np.radians(v.skew_deg / 2))  # a little shear, as from an angle
            m[0, 2] -= np.tan(np.radians(v.skew_deg / 2)) * (ph / 2 + pad)
            size = (pw + 2 * pad, ph + 2 * pad)
            padded = cv2.copyMakeBorder(plate, pad, pad, pad, pad, cv2.BORDER_CONSTANT)
            sprite = cv2.warpAffine(padded, m, size, flags=cv2.INTER_LINEAR)
            mask = cv2.copyMakeBorder(np.full((ph, pw), 255, np.uint8), pad, pad, pad, pad,
                                      cv2.BORDER_CONSTANT)
            alpha = cv2.warpAffine(mask, m, size)
            corners = np.array([[pad, pad], [pad + pw, pad], [pad + pw, pad + ph], [pad, pad + ph]],
                               np.float32)
            corners = corners @ m[:, :2].T + m[:, 2]
            self._plates[v.index] = (sprite, alpha.astype(np.float32)[:, :, None] / 255, corners)
            if len(self._plates) > 8:  # vehicles pass once; keep the cache small
                self._plates.pop(min(self._plates))
        return self._plates[v.index]

    def render(self, t: int) -> tuple[np.ndarray, list[dict]]:
        """Frame t as BGR, plus the plates fully visible in it (text, box, corners)."""
        img = self._backgrounds[t % len(self._backgrounds)].copy()
        visible = []
        for v in self.vehicles_at(t):
            x = v.x_at(t, self.width)
            self._draw_body(img, v, x)
            sprite, alpha, corners = self._plate_sprite(v)
            sh, sw = sprite.shape[:2]
            px = x + (v.body_w - sw) // 2
            py = v.y + int(v.body_h * 0.62) - sh // 2
            _blend(img, sprite, alpha, px, py)
            c = corners + (px, py)
            if c[:, 0].min() >= 0 and c[:, 0].max() < self.width and c[:, 1].min() >= 0 \
                    and c[:, 1].max() < self.height:
                x0, y0 = c.min(axis=0)
                x1, y1 = c.max(axis=0)
                visible.append({"text": v.text, "vehicle": v.index,
                                "box": (float(x0), float(y0), float(x1 - x0), float(y1 - y0)),
                                "corners": c.round(1).tolist()})
        if self.night:
            img = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        return img, visible

    def _draw_body(self, img: np.ndarray, v: Vehicle, x: int) -> None:
        y, bw, bh = v.y, v.body_w, v.body_h
        body = v.body_bgr if not self.night else tuple(c // 4 for c in v.body_bgr)
        cv2.rectangle(img, (x, y + bh // 5), (x + bw, y + bh), body, -1)
        glass = (60, 50, 40) if not self.night else (8, 8, 8)
        cv2.rectangle(img, (x + bw // 6, y), (x + bw - bw // 6, y + bh // 5 + bh // 6), glass, -1)
        lamp = (40, 40, 200) if not self.night else (250, 250, 250)
        for lx in (x + bw // 12, x + bw - bw // 12 - bw // 8):
            cv2.rectangle(img, (lx, y + bh // 3), (lx + bw // 8, y + bh // 3 + bh // 10), lamp, -1)
        for wx in (x + bw // 5, x + bw - bw // 5):
            cv2.ellipse(img, (wx, y + bh), (bw // 10, bh // 10), 0, 0, 360, (15, 15, 15), -1)


def _blend(dst: np.ndarray, src: np.ndarray, alpha: np.ndarray, x: int, y: int) -> None:
    """Alpha-composite src onto dst at (x, y), clipped to dst."""
    h, w = src.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, dst.shape[1]), min(y + h, dst.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    s = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    roi = dst[y0:y1, x0:x1]
    a = alpha[s]
    roi[:] = (src[s] * a + roi * (1 - a)).astype(np.uint8)


class SyntheticSource(BaseSource):
    """Frames of a SyntheticScene, paced at fps (pace=False: as fast as they can be drawn)."""

    name = "synthetic"

    def __init__(self, width: int = 1280, height: int = 720, fps: float = 15.0, *, seed: int = 1,
                 night: bool = False, lores_size: tuple[int, int] = (320, 180), pace: bool = True,
                 exposure_us: int = 1000, analogue_gain: float = 4.0, faults: Faults | None = None):
        super().__init__(faults=faults)
        self.scene = SyntheticScene(width, height, fps, seed=seed, night=night)
        self.lores_size = lores_size
        self.exposure_us, self.analogue_gain = exposure_us, analogue_gain
        self._pacer = Pacer(fps if pace else None)
        self._t = 0  # scene time in frames; keeps running across reconnects, like the road
        self._truth: dict[int, dict] = {}
        self.ir_notifications = 0

    def notify_ir_change(self) -> None:
        """Recorded like a camera's flush request (the scene's look is fixed by `night`)."""
        self.ir_notifications += 1

    def _open(self) -> None:
        pass

    def _read(self) -> Frame:
        self._pacer.wait()
        img, plates = self.scene.render(self._t)
        small = cv2.resize(img, self.lores_size, interpolation=cv2.INTER_AREA)
        frame = stamp(img, cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), exposure_us=self.exposure_us,
                      analogue_gain=self.analogue_gain, lux=2.0 if self.scene.night else 1000.0,
                      metadata={"plates": plates, "scene_frame": self._t})
        for p in plates:
            rec = self._truth.setdefault(p["vehicle"], {
                "text": p["text"], "first_frame": self._t, "first_wall": frame.wall_time,
                "frames_visible": 0})
            rec.update(last_frame=self._t, last_wall=frame.wall_time)
            rec["frames_visible"] += 1
        self._t += 1
        return frame

    def ground_truth(self) -> list[dict]:
        """Plates that were fully visible in at least one generated frame, in order of passing."""
        return [dict(v) for _, v in sorted(self._truth.items())]
