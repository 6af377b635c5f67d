"""Synthetic licence plates with known text and corners, for OCR and detector training.

`render_plate(rng)` draws one plate (US states, EU countries, Brazil's old grey plates) with
Pillow using Debian's fonts, places it with a random perspective on a margin of background and
applies camera effects. Day colour and IR-night monochrome looks. Everything is a function of
the numpy Generator passed in, so a seed reproduces a data set.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from inference.formats import EU_PATTERNS, US_PATTERNS, random_text
from inference.training import ocr_effects as fx
from inference.training.fonts import available, font_path
from inference.training.fonts import font as _font
from inference.training.render_eu import (
    NATIONAL_TEXT_SHARE,
    NATURAL_FONTS,
    NATURAL_SHARE,
    draw_text_natural,
    eu_text,
)

logger = logging.getLogger(__name__)

# Plate characters: condensed gothic / DIN-like sans faces (Debian fonts-* packages).
MAIN_FONTS = (
    "NimbusSansNarrow-Bold.otf",
    "NimbusSansNarrow-Regular.otf",
    "LiberationSansNarrow-Bold.ttf",
    "LiberationSansNarrow-Regular.ttf",
    "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSansCondensed.ttf",
    "FreeSansBold.ttf",
    "LiberationSans-Bold.ttf",
    "NimbusSans-Bold.otf",
    "URWGothic-Demi.otf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansMono-Bold.ttf",
    "LiberationMono-Bold.ttf",
)
# State names and slogans: script, serif and sans faces.
DECOR_FONTS = (
    "NimbusRoman-BoldItalic.otf",
    "Z003-MediumItalic.otf",
    "C059-BdIta.otf",
    "NimbusSans-Bold.otf",
    "DejaVuSerif-BoldItalic.ttf",
    "LiberationSerif-Bold.ttf",
    "URWBookman-DemiItalic.otf",
    "FreeSerifBoldItalic.ttf",
    "DejaVuSans-Bold.ttf",
    "NimbusSansNarrow-Bold.otf",
)
UNIT_FONT = "DejaVuSansCondensed-Bold.ttf"  # the unit's synthetic camera source draws with it

US_STATES = {
    "CA": "California",
    "NY": "New York",
    "TX": "Texas",
    "FL": "Florida",
    "IL": "Illinois",
    "NJ": "New Jersey",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "CT": "Connecticut",
    "ID": "Idaho",
    "DC": "Washington, D.C.",
    "IN": "Indiana",
    "MI": "Michigan",
    "WA": "Washington",
    "OR": "Oregon",
    "AZ": "Arizona",
    "VA": "Virginia",
    "NC": "North Carolina",
    "GA": "Georgia",
    "PA": "Pennsylvania",
    "OH": "Ohio",
    "WI": "Wisconsin",
    "MN": "Minnesota",
    "CO": "Colorado",
    "LA": "Louisiana",
    "HI": "Hawaii",
    "ME": "Maine",
    "VT": "Vermont",
    "RI": "Rhode Island",
    "IA": "Iowa",
    "MS": "Mississippi",
    "WY": "Wyoming",
    "ND": "North Dakota",
    "DE": "Delaware",
    "AL": "Alabama",
    "TN": "Tennessee",
    "UT": "Utah",
    "NM": "New Mexico",
    "OK": "Oklahoma",
    "SD": "South Dakota",
    "KY": "Kentucky",
    "MO": "Missouri",
    "NE": "Nebraska",
    "SC": "South Carolina",
    "AK": "Alaska",
    "KS": "Kansas",
    "MT": "Montana",
    "AR": "Arkansas",
    "WV": "West Virginia",
}
SLOGANS = (
    "dmv.ca.gov",
    "THE GOLDEN STATE",
    "Land of Lincoln",
    "THE EMPIRE STATE",
    "Sunshine State",
    "The Silver State",
    "Live Free or Die",
    "Famous Potatoes",
    "Garden State",
    "AMERICA'S DAIRYLAND",
    "The Lone Star State",
    "Aloha State",
    "VACATIONLAND",
    "Peace Garden State",
    "Grand Canyon State",
    "Sportsman's Paradise",
    "Taxation Without Representation",
    "First in Flight",
    "Virginia is for Lovers",
    "Great Lakes",
    "Ocean State",
    "Spirit of America",
    "Wild Wonderful",
    "visitPA.com",
)
EU_CODES = {
    "EU-DE": "D",
    "EU-FR": "F",
    "EU-IT": "I",
    "EU-ES": "E",
    "EU-NL": "NL",
    "EU-PL": "PL",
    "EU-RO": "RO",
    "EU-UK": "GB",
    "EU-BE": "B",
    "EU-PT": "P",
    "EU-AT": "A",
    "EU-CZ": "CZ",
    "EU-SE": "S",
}
BR_CITIES = (
    "SP - SAO PAULO",
    "RJ - RIO DE JANEIRO",
    "MG - BELO HORIZONTE",
    "PR - CURITIBA",
    "SC - FLORIANOPOLIS",
    "RS - PORTO ALEGRE",
    "BA - SALVADOR",
    "GO - GOIANIA",
)


@dataclass(frozen=True)
class RenderedPlate:
    image: np.ndarray  # BGR uint8: the plate with a margin of background
    text: str  # uppercase A-Z0-9
    corners: np.ndarray  # (4, 2) float32: TL, TR, BR, BL of the plate in `image`
    region: str  # pattern family used for the text, e.g. "US-CA", "EU-DE", "BR"
    look: str  # "day" | "ir"


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _colour(rng: np.random.Generator, lo: int, hi: int) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(lo, hi, 3))


def draw_text_box(
    img: Image.Image,
    text: str,
    font: Path,
    box: tuple[float, float, float, float],
    fill,
    rng: np.random.Generator,
    emboss: bool = False,
) -> None:
    """Draw `text` squeezed or stretched into box (x0, y0, x1, y1), glyph height = box height."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    bw, bh = max(1, x1 - x0), max(1, y1 - y0)
    f = _font(font, int(bh * 1.35))
    left, top, right, bottom = f.getbbox(text)
    layer = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(layer).text((-left, -top), text, font=f, fill=255)
    natural_w = layer.width * bh / max(1, layer.height)
    w = int(min(bw, natural_w * rng.uniform(0.85, 1.15)))
    layer = layer.resize((max(1, w), bh), Image.Resampling.LANCZOS)
    px = x0 + (bw - w) // 2
    if emboss:  # raised characters: a light edge above-left, a shadow below-right
        img.paste((255, 255, 255), (px - 2, y0 - 2), layer.point(lambda v: v // 3))
        img.paste((30, 30, 30), (px + 2, y0 + 2), layer.point(lambda v: v // 3))
    img.paste(fill, (px, y0), layer)


def _split_text(text: str, rng: np.random.Generator) -> str:
    """Insert a separator where plates usually have one (between letter and digit runs)."""
    breaks = [i for i in range(1, len(text)) if text[i].isdigit() != text[i - 1].isdigit()]
    if not breaks or rng.random() < 0.3:
        return text
    i = _pick(rng, breaks)
    return text[:i] + _pick(rng, (" ", "-", " ", "·")) + text[i:]


def _scenery(img: Image.Image, rng: np.random.Generator, ir: bool) -> None:
    """Pale background graphics (mountains, sun, gradients) that IR mostly washes out."""
    w, h = img.size
    d = ImageDraw.Draw(img, "RGBA")
    alpha = 40 if ir else int(rng.integers(60, 200))
    for _ in range(int(rng.integers(0, 4))):
        c = (*_colour(rng, 60, 255), alpha)
        kind = rng.random()
        if kind < 0.4:
            pts = (
                [(0, h)]
                + [(x, h * rng.uniform(0.35, 0.9)) for x in np.linspace(0, w, 6)]
                + [(w, h)]
            )
            d.polygon(pts, fill=c)
        elif kind < 0.7:
            cx, cy, r = (
                w * rng.uniform(0.2, 0.8),
                h * rng.uniform(0.3, 0.8),
                h * rng.uniform(0.1, 0.3),
            )
            d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=c)
        else:
            y = h * rng.uniform(0.0, 0.9)
            d.rectangle((0, y, w, y + h * rng.uniform(0.05, 0.15)), fill=c)


def _stickers_and_bolts(img: Image.Image, rng: np.random.Generator, ir: bool) -> None:
    w, h = img.size
    d = ImageDraw.Draw(img)
    small = _font(_pick(rng, available(MAIN_FONTS)), int(h * 0.09))
    for x in (w * 0.03, w * 0.83):
        if rng.random() < 0.5:
            sw, sh = w * rng.uniform(0.09, 0.14), h * rng.uniform(0.12, 0.2)
            y = h * rng.uniform(0.04, 0.1)
            fill = (200, 200, 200) if ir else _colour(rng, 30, 255)
            d.rectangle((x, y, x + sw, y + sh), fill=fill)
            d.text(
                (x + 2, y + 1),
                str(int(rng.integers(1, 99))).zfill(2),
                font=small,
                fill=(10, 10, 10),
            )
    r = h * 0.03
    for bx in (w * 0.22, w * 0.78):
        for by in (h * 0.1,) if rng.random() < 0.6 else (h * 0.1, h * 0.9):
            d.ellipse(
                (bx - r, by - r, bx + r, by + r), fill=_colour(rng, 90, 200), outline=(40, 40, 40)
            )


def _frame(img: Image.Image, rng: np.random.Generator) -> None:
    """A dealer frame: a dark or chrome border, thicker at the bottom, with small text."""
    w, h = img.size
    d = ImageDraw.Draw(img)
    c = _colour(rng, 10, 60) if rng.random() < 0.6 else _colour(rng, 150, 220)
    t = int(h * rng.uniform(0.03, 0.07))
    d.rectangle((0, 0, w, t), fill=c)
    d.rectangle((0, 0, t, h), fill=c)
    d.rectangle((w - t, 0, w, h), fill=c)
    bottom = int(h * rng.uniform(0.1, 0.18))
    d.rectangle((0, h - bottom, w, h), fill=c)
    f = _font(_pick(rng, available(DECOR_FONTS)), int(bottom * 0.6))
    words = _pick(
        rng, ("AUTO MALL", "HONDA OF SAN JOSE", "TOYOTA", "CARMAX", "FORD", "BMW OF NORTH")
    )
    d.text(
        (w / 2, h - bottom / 2),
        words,
        font=f,
        fill=(255, 255, 255) if sum(c) < 300 else (0, 0, 0),
        anchor="mm",
    )


def _stacked(img: Image.Image, box, ink, rng: np.random.Generator) -> tuple:
    """Two or three small stacked letters (e.g. a class code) beside the serial, which are not
    part of the plate text; returns the main text's box, narrowed to leave them room."""
    x0, y0, x1, y1 = box
    n = 2 if rng.random() < 0.7 else 3
    cell = (y1 - y0) / n
    sw = cell * rng.uniform(0.8, 1.1)
    left = rng.random() < 0.6
    sx = x0 if left else x1 - sw
    letters = "".join(_pick(rng, "ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(n))
    font = _pick(rng, available(MAIN_FONTS))
    for i, ch in enumerate(letters):
        cy = y0 + i * cell
        draw_text_box(img, ch, font, (sx, cy + cell * 0.08, sx + sw, cy + cell * 0.92), ink, rng)
    gap = sw * rng.uniform(0.2, 0.5)
    return (x0 + sw + gap, y0, x1, y1) if left else (x0, y0, x1 - sw - gap, y1)


def draw_us(
    text: str, code: str, rng: np.random.Generator, ir: bool, stacked: bool = False
) -> Image.Image:
    """A US plate (12 x 6 in) at 480 x 240 px; `stacked`: small stacked letters beside the
    serial (not part of the text)."""
    w, h = 480, 240
    unit_look = rng.random() < 0.15
    bg = (236, 238, 240) if unit_look else _colour(rng, 200, 256)
    img = Image.new("RGB", (w, h), bg)
    if not unit_look:
        _scenery(img, rng, ir)
    d = ImageDraw.Draw(img)
    state = US_STATES.get(code[3:], _pick(rng, tuple(US_STATES.values())))
    ink = (
        (20, 30, 90)
        if unit_look
        else (_colour(rng, 0, 90) if rng.random() < 0.8 else (140, 20, 20))
    )
    if ir:
        ink = (15, 15, 15)
    if unit_look:
        f = _font(font_path(UNIT_FONT) or available(MAIN_FONTS)[0], h // 7)
        d.text((w / 2, h * 0.15), state.upper(), font=f, fill=(170, 30, 30), anchor="mm")
        main_font = font_path(UNIT_FONT) or available(MAIN_FONTS)[0]
        box = (w * 0.06, h * 0.36, w * 0.94, h * 0.80)
    else:
        f = _font(_pick(rng, available(DECOR_FONTS)), int(h * rng.uniform(0.12, 0.2)))
        state_txt = state.upper() if rng.random() < 0.6 else state
        d.text(
            (w / 2, h * rng.uniform(0.1, 0.16)),
            state_txt,
            font=f,
            fill=(120, 120, 120) if ir else _colour(rng, 0, 160),
            anchor="mm",
        )
        if rng.random() < 0.7:
            f2 = _font(_pick(rng, available(DECOR_FONTS)), int(h * rng.uniform(0.07, 0.1)))
            d.text(
                (w / 2, h * 0.9),
                _pick(rng, SLOGANS),
                font=f2,
                fill=(140, 140, 140) if ir else _colour(rng, 0, 160),
                anchor="mm",
            )
        main_font = _pick(rng, available(MAIN_FONTS))
        top = h * rng.uniform(0.26, 0.34)
        tall = h * rng.uniform(0.40, 0.52)
        side = w * rng.uniform(0.04, 0.12)
        box = (side, top, w - side, top + tall)
        _stickers_and_bolts(img, rng, ir)
    if stacked:
        box = _stacked(img, box, ink, rng)
    draw_text_box(img, _split_text(text, rng), main_font, box, ink, rng, emboss=rng.random() < 0.3)
    ImageDraw.Draw(img).rounded_rectangle(
        (0, 0, w - 1, h - 1), radius=h // 12, outline=(40, 40, 40), width=max(2, h // 60)
    )
    if not unit_look and rng.random() < 0.3:
        _frame(img, rng)
    return img


def draw_eu(text: str, code: str, rng: np.random.Generator, ir: bool) -> Image.Image:
    """An EU plate (520 x 110 mm) at 624 x 132 px with the blue country band."""
    w, h = 624, 132
    yellow = code in ("EU-UK", "EU-NL") and rng.random() < 0.5
    img = Image.new("RGB", (w, h), (250, 205, 20) if yellow and not ir else _colour(rng, 225, 256))
    d = ImageDraw.Draw(img)
    band = int(w * 0.075)
    d.rectangle((0, 0, band, h), fill=(150, 150, 150) if ir else (30, 60, 160))
    for a in np.linspace(0, 2 * np.pi, 12, endpoint=False):
        cx, cy = band / 2 + 0.22 * band * np.cos(a), h * 0.3 + 0.22 * band * np.sin(a)
        d.ellipse((cx - 2, cy - 2, cx + 2, cy + 2), fill=(230, 220, 40))
    f = _font(available(MAIN_FONTS)[0], int(h * 0.28))
    d.text(
        (band / 2, h * 0.75), EU_CODES.get(code, "EU"), font=f, fill=(255, 255, 255), anchor="mm"
    )
    spaced = _split_text(text, rng)
    if code == "EU-DE" and " " not in spaced and len(text) > 4 and rng.random() < 0.7:
        spaced = text[:2] + " " + text[2:]
    box = (band + w * 0.03, h * 0.16, w - w * 0.03, h * 0.84)
    if rng.random() < NATURAL_SHARE:  # regular weight at natural width, as real EU plates
        draw_text_natural(img, spaced, _pick(rng, available(NATURAL_FONTS)), box, (15, 15, 15), rng)
    else:
        draw_text_box(img, spaced, _pick(rng, available(MAIN_FONTS)[:6]), box, (15, 15, 15), rng)
    d.rounded_rectangle((1, 1, w - 2, h - 2), radius=8, outline=(20, 20, 20), width=3)
    return img


def draw_mercosur(text: str, rng: np.random.Generator, ir: bool) -> Image.Image:
    """Brazil's Mercosur plate (LLL9L99, 400 x 130 mm): white, blue band with BRASIL on top."""
    w, h = 480, 156
    img = Image.new("RGB", (w, h), _colour(rng, 225, 256))
    d = ImageDraw.Draw(img)
    band = int(h * 0.22)
    d.rectangle((0, 0, w, band), fill=(150, 150, 150) if ir else (20, 50, 150))
    f = _font(_pick(rng, available(MAIN_FONTS)), int(band * 0.7))
    d.text((w / 2, band / 2), "BRASIL", font=f, fill=(255, 255, 255), anchor="mm")
    box = (w * 0.06, h * 0.32, w * 0.94, h * 0.9)
    draw_text_box(img, text, _pick(rng, available(MAIN_FONTS)), box, (15, 15, 15), rng)
    d.rounded_rectangle((1, 1, w - 2, h - 2), radius=10, outline=(20, 20, 20), width=3)
    return img


def draw_br(text: str, rng: np.random.Generator, ir: bool) -> Image.Image:
    """Brazil's old grey plate (400 x 130 mm) at 480 x 156 px; Mercosur texts get that look."""
    w, h = 480, 156
    if len(text) == 7 and text[4].isalpha():
        return draw_mercosur(text, rng, ir)
    g = int(rng.integers(150, 215))
    img = Image.new("RGB", (w, h), (g, g, g + int(rng.integers(-8, 8))))
    d = ImageDraw.Draw(img)
    f = _font(_pick(rng, available(MAIN_FONTS)), int(h * 0.16))
    d.text((w / 2, h * 0.13), _pick(rng, BR_CITIES), font=f, fill=(30, 30, 30), anchor="mm")
    label = text[:3] + "-" + text[3:] if rng.random() < 0.8 else text[:3] + " " + text[3:]
    box = (w * 0.05, h * 0.27, w * 0.95, h * 0.88)
    draw_text_box(
        img,
        label,
        _pick(rng, available(MAIN_FONTS)),
        box,
        (20, 20, 20),
        rng,
        emboss=rng.random() < 0.5,
    )
    d.rounded_rectangle((1, 1, w - 2, h - 2), radius=10, outline=(30, 30, 30), width=3)
    for bx in (w * 0.2, w * 0.8):
        d.ellipse((bx - 6, h * 0.13 - 6, bx + 6, h * 0.13 + 6), fill=(110, 110, 110))
    return img


def choose_region(rng: np.random.Generator, region: str | None) -> str:
    """A region code from a family ("us", "eu", "br") or None (mixed), or `region` itself."""
    if region is None:
        u = rng.random()
        region = "us" if u < 0.6 else "eu" if u < 0.88 else "BR"
    if region == "us":
        return "US-CA" if rng.random() < 0.35 else _pick(rng, tuple(US_PATTERNS))
    if region == "eu":
        return _pick(rng, tuple(EU_PATTERNS))
    if region.lower() == "br":
        return "BR"
    return region


def plate_image(
    text: str, code: str, rng: np.random.Generator, ir: bool, stacked: bool = False
) -> np.ndarray:
    """The flat plate as RGB uint8 with dirt and glare, before the camera."""
    if code.startswith("US"):
        img = draw_us(text, code, rng, ir, stacked)
    elif code.startswith("EU"):
        img = draw_eu(text, code, rng, ir)
    else:
        img = draw_br(text, rng, ir)
    arr = np.asarray(img).copy()
    if rng.random() < 0.3:
        arr = fx.dirt(arr, rng)
    if rng.random() < 0.2:
        arr = fx.glare(arr, rng)
    return arr


def render_plate(
    rng: np.random.Generator,
    text: str | None = None,
    look: str = "day",
    region: str | None = None,
    width: int | None = None,
    camera: bool = True,
    stacked: float = 0.0,
) -> RenderedPlate:
    """Render one plate with a margin of background; see RenderedPlate.

    `region`: None (mix), "us", "eu", "br" or a code ("US-CA", "EU-DE", "BR"). `width`: plate
    width in output pixels (default random 90-320). `camera`: add blur, noise and JPEG loss.
    `stacked`: probability that a US plate carries small stacked letters beside its serial (0:
    never, and no random draw, so existing seeds render exactly as before).
    """
    if look not in ("day", "ir"):
        raise ValueError(f"look must be 'day' or 'ir', got {look!r}")
    code = choose_region(rng, region)
    if text is None:
        if code.startswith("US") and rng.random() < 0.08:  # vanity plates: any 2-8 characters
            n = int(rng.integers(2, 9))
            text = "".join(_pick(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(n))
        elif code in EU_PATTERNS and rng.random() < NATIONAL_TEXT_SHARE:
            text = eu_text(rng, code)
        else:
            text = random_text(rng, "US-GEN" if code not in _all_codes() else code)
    ir = look == "ir"
    with_stack = stacked > 0 and code.startswith("US") and rng.random() < stacked
    flat = plate_image(text, code, rng, ir, with_stack)
    out_w = int(width or rng.integers(90, 320))
    image, corners = fx.place(flat, out_w, rng, ir)
    if ir:
        image = fx.ir_look(image, rng)
    if camera:
        image = fx.camera(image, rng)
    return RenderedPlate(np.ascontiguousarray(image), text, corners.astype(np.float32), code, look)


@functools.lru_cache(maxsize=1)
def _all_codes() -> frozenset[str]:
    return frozenset(US_PATTERNS) | frozenset(EU_PATTERNS) | {"BR"}
