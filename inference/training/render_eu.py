"""European plate realism for the renderer: national plate texts and natural-width lettering.

Real EU plates are lettered in regular-weight DIN-like faces at their natural width with wide
spacing, so a thin `1` or `I` stands alone with white around it, right after the blue band in
Romanian county codes such as `IF`. The default renderer stretches bold condensed faces to
fill the text box and draws `I`/`O` rarely; the reader learnt to drop thin glyphs on real
plates (IF05TAC read F05TAC). `draw_text_natural` and `eu_text` add that look to the mix.
Everything is a function of the numpy Generator passed in.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from inference.formats import random_text
from inference.training.fonts import font as _font

logger = logging.getLogger(__name__)

# Regular-weight narrow faces (DIN-like proportions) among the renderer's MAIN_FONTS.
NATURAL_FONTS = (
    "NimbusSansNarrow-Regular.otf",
    "LiberationSansNarrow-Regular.ttf",
    "DejaVuSansCondensed.ttf",
)
NATURAL_SHARE = 0.5  # EU plates lettered at natural width (the rest: stretched, as before)
NATIONAL_TEXT_SHARE = 0.7  # EU texts from eu_text (the rest: formats.random_text, as before)

# Romanian county codes (B = Bucharest, one letter); plates read B 123 ABC or CC 12 ABC.
RO_COUNTIES = (
    "AB AR AG BC BH BN BT BV BR BZ CS CL CJ CT CV DB DJ GL GR GJ HR HD IL IS IF MM MH MS NT "
    "OT PH SM SJ SB SV TR TM TL VS VL VN"
).split()
# Letters a country leaves out of its serials (I and O are otherwise as common as any letter).
_EXCLUDED = {
    "EU-FR": "IOUQ",
    "EU-IT": "IOQU",
    "EU-ES": "AEIOUQ",
    "EU-PT": "KWYQ",
}
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _romanian(rng: np.random.Generator) -> str:
    """B + 2-3 digits or a county + 2 digits, then three letters (never Q; not I/O first)."""
    if rng.random() < 0.4:
        head = "B" + "".join(_pick(rng, _DIGITS) for _ in range(2 if rng.random() < 0.6 else 3))
    else:
        head = _pick(rng, RO_COUNTIES) + "".join(_pick(rng, _DIGITS) for _ in range(2))
    pool = _LETTERS.replace("Q", "")
    tail = _pick(rng, pool.replace("I", "").replace("O", ""))
    return head + tail + "".join(_pick(rng, pool) for _ in range(2))


def eu_text(rng: np.random.Generator, code: str) -> str:
    """A plate text for EU country `code` with the country's own letter use (I and O at their
    real frequency where the country uses them; Romanian county codes)."""
    if code == "EU-RO":
        return _romanian(rng)
    return random_text(rng, code, "".join(c for c in _LETTERS if c not in _EXCLUDED.get(code, "Q")))


@functools.lru_cache(maxsize=16)
def _cap_ratio(path: Path) -> float:
    """Cap height per pixel of font size (so glyphs can be sized to the text box)."""
    left, top, right, bottom = _font(path, 200).getbbox("H")
    return (bottom - top) / 200


def draw_text_natural(
    img: Image.Image,
    text: str,
    font: Path,
    box: tuple[float, float, float, float],
    fill,
    rng: np.random.Generator,
) -> None:
    """Draw `text` glyph by glyph at natural width, cap height = box height (a little less
    when a glyph descends below the baseline), with letter spacing and a wider gap at
    separators; centred. A text too wide for the box is condensed at most to 0.85 of its
    width, then scaled down whole (never drawn outside the box)."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    bw, bh = max(1, x1 - x0), max(1, y1 - y0)
    f = _font(font, int(round(bh / _cap_ratio(font))))
    cap_top = f.getbbox("H")[1]
    aspect = rng.uniform(0.95, 1.2)  # glyph width jitter around the face's own proportions
    track = bh * rng.uniform(0.06, 0.22)  # spacing between glyphs
    gap = bh * rng.uniform(0.3, 0.7)  # a separator: space, or the dash/dot drawn in it
    pieces, x = [], 0.0
    for ch in text:
        if ch in " -·":
            if ch != " ":
                pieces.append((ch, x + gap / 2 - f.getlength(ch) * aspect / 2))
            x += gap
            continue
        pieces.append((ch, x))
        x += f.getlength(ch) * aspect + track
    total = max(1, int(round(x - track)))
    layer = Image.new("L", (int(total / aspect) + bh, int(bh * 1.6)), 0)
    d = ImageDraw.Draw(layer)
    for ch, px in pieces:
        d.text((px / aspect, -cap_top), ch, font=f, fill=255)
    ink = layer.getbbox()
    if ink is None:
        return
    # Keep descenders (DejaVu's J, Q's tail): clipped to cap height they look like I and O.
    layer = layer.crop((ink[0], 0, ink[2], max(bh, ink[3])))
    w, h = layer.width * aspect * bh / layer.height, bh  # the whole ink height fits the box
    if w * 0.85 > bw:  # too long even condensed: keep the proportions, smaller glyphs
        h = bh * bw / (w * 0.85)
    w = min(bw, int(w * h / bh))
    layer = layer.resize((max(1, w), max(1, int(h))), Image.Resampling.LANCZOS)
    slack = bw - layer.width
    px = x0 + int(slack / 2 + rng.uniform(-0.3, 0.3) * slack / 2)
    img.paste(fill, (px, y0 + (bh - layer.height) // 2), layer)
