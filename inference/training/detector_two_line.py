"""Square / two-line plates for the detector's synthetic pool (the OCR reads one-line plates,
so `inference.training.render` does not draw these; this module only borrows its helpers).

Layouts, characters on two rows, aspect ~1:1 to 2:1:
- "pk": Pakistani square plates (letters over digits, sometimes a small province line);
- "uk": UK square rear plates (white or yellow, "AB12" over "CDE");
- "eu": EU two-row plates (German/French/Italian square car or motorcycle plates) with the
  blue country band down the left;
- "us": US motorcycle-style small plates (state name, then the serial on one or two rows).
Everything is a function of the numpy Generator passed in.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from inference.training import ocr_effects as fx
from inference.training.render import (
    DECOR_FONTS,
    EU_CODES,
    MAIN_FONTS,
    US_STATES,
    RenderedPlate,
    available,
    draw_text_box,
)

LAYOUTS = ("pk", "uk", "eu", "us")
ASPECT = {"pk": (1.2, 2.0), "uk": (1.25, 1.5), "eu": (1.3, 1.8), "us": (1.6, 1.9)}
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _chars(rng: np.random.Generator, alphabet: str, lo: int, hi: int) -> str:
    return "".join(_pick(rng, alphabet) for _ in range(int(rng.integers(lo, hi + 1))))


def _rows(layout: str, rng: np.random.Generator) -> tuple[str, str]:
    digits = "0123456789"
    if layout == "pk":
        return _chars(rng, _LETTERS, 2, 3), _chars(rng, digits, 3, 4)
    if layout == "uk":
        return _chars(rng, _LETTERS, 2, 2) + _chars(rng, digits, 2, 2), _chars(rng, _LETTERS, 3, 3)
    if layout == "eu":
        return _chars(rng, _LETTERS, 1, 3) + _chars(rng, _LETTERS, 0, 2), _chars(rng, digits, 2, 4)
    mixed = _LETTERS + digits
    return _chars(rng, mixed, 2, 3), _chars(rng, mixed, 2, 4)


def draw_two_line(layout: str, rng: np.random.Generator, ir: bool) -> tuple[Image.Image, str]:
    """The flat plate (RGB) and its text (top row + bottom row)."""
    h = 240
    w = int(h * rng.uniform(*ASPECT[layout]))
    light = rng.random() < 0.85  # dark plates with light characters exist (PK, old EU)
    bg = (250, 205, 20) if layout == "uk" and rng.random() < 0.5 else \
        tuple(int(v) for v in rng.integers(205, 256, 3))
    ink = (15, 15, 15)
    if not light:
        bg, ink = tuple(int(v) for v in rng.integers(10, 70, 3)), (235, 235, 235)
    if ir:  # IR washes colour out: a light or a dark gray plate
        bg = (200, 200, 200) if light else (40, 40, 40)
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    top_txt, bottom_txt = _rows(layout, rng)
    font = _pick(rng, available(MAIN_FONTS))
    x0, x1, y0, y1 = w * 0.07, w * 0.93, h * 0.1, h * 0.9
    if layout == "eu":  # the blue band spans both rows
        band = w * rng.uniform(0.1, 0.14)
        d.rectangle((0, 0, band, h), fill=(150, 150, 150) if ir else (30, 60, 160))
        draw_text_box(img, _pick(rng, tuple(EU_CODES.values())), available(MAIN_FONTS)[0],
                      (band * 0.15, h * 0.7, band * 0.85, h * 0.85), (255, 255, 255), rng)
        x0 = band + w * 0.05
    if layout in ("pk", "us") and rng.random() < 0.6:  # a small line on top: state, province
        name = _pick(rng, tuple(US_STATES.values())) if layout == "us" else \
            _pick(rng, ("PUNJAB", "SINDH", "ISLAMABAD", "KPK", "PAKISTAN"))
        draw_text_box(img, name.upper(), _pick(rng, available(DECOR_FONTS)),
                      (x0, h * 0.05, x1, h * 0.17), ink, rng)
        y0 = h * 0.22
    gap = (y1 - y0) * rng.uniform(0.06, 0.14)
    mid = (y0 + y1) / 2
    draw_text_box(img, top_txt, font, (x0, y0, x1, mid - gap / 2), ink, rng)
    draw_text_box(img, bottom_txt, font, (x0, mid + gap / 2, x1, y1), ink, rng)
    d.rounded_rectangle((1, 1, w - 2, h - 2), radius=int(h * 0.06), outline=(25, 25, 25),
                        width=max(3, h // 50))
    return img, top_txt + bottom_txt


def render_two_line(rng: np.random.Generator, look: str = "day",
                    camera: bool = True) -> RenderedPlate:
    """One two-line plate placed with perspective on a margin (like render.render_plate)."""
    if look not in ("day", "ir"):
        raise ValueError(f"look must be 'day' or 'ir', got {look!r}")
    layout = _pick(rng, LAYOUTS)
    ir = look == "ir"
    flat, text = draw_two_line(layout, rng, ir)
    arr = np.asarray(flat).copy()
    if rng.random() < 0.3:
        arr = fx.dirt(arr, rng)
    if rng.random() < 0.2:
        arr = fx.glare(arr, rng)
    image, corners = fx.place(arr, int(rng.integers(70, 240)), rng, ir)
    if ir:
        image = fx.ir_look(image, rng)
    if camera:
        image = fx.camera(image, rng)
    return RenderedPlate(np.ascontiguousarray(image), text, corners.astype(np.float32),
                         f"2L-{layout.upper()}", look)
