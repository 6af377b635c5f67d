"""EU plate realism in the renderer: natural-width regular lettering and national plate texts."""

import numpy as np
import pytest
from PIL import Image

from inference.formats import EU_PATTERNS, matching_region, random_text
from inference.training.render import MAIN_FONTS, available, draw_eu, draw_text_box, render_plate
from inference.training.render_eu import NATURAL_FONTS, RO_COUNTIES, draw_text_natural, eu_text

BOX = (20, 10, 580, 100)  # 560 x 90 px, an EU plate's text box


def _ink(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("L")) < 100


def _stroke_px(ink: np.ndarray) -> float:
    """Median length of horizontal ink runs: the stroke width of upright glyphs."""
    runs = []
    for row in ink[::3]:
        d = np.diff(np.r_[0, row.astype(int), 0])
        runs += list(np.flatnonzero(d == -1) - np.flatnonzero(d == 1))
    return float(np.median(runs))


def _natural(text: str, font, seed: int = 0, box=BOX) -> np.ndarray:
    img = Image.new("RGB", (600, 110), (255, 255, 255))
    draw_text_natural(img, text, font, box, (0, 0, 0), np.random.default_rng(seed))
    return _ink(img)


def test_same_seed_same_plate():
    for seed in (3, 17):
        a = render_plate(np.random.default_rng(seed), region="eu")
        b = render_plate(np.random.default_rng(seed), region="eu")
        assert a.text == b.text and np.array_equal(a.image, b.image)
    font = available(NATURAL_FONTS)[0]
    assert np.array_equal(_natural("B 311 ALY", font, 5), _natural("B 311 ALY", font, 5))


def test_natural_lettering_is_regular_weight_and_thinner_than_bold():
    bold = Image.new("RGB", (600, 110), (255, 255, 255))
    draw_text_box(bold, "B 311 ALY", available(MAIN_FONTS)[0], BOX, (0, 0, 0),
                  np.random.default_rng(0))
    for font in available(NATURAL_FONTS):
        assert _stroke_px(_natural("B 311 ALY", font)) * 1.3 < _stroke_px(_ink(bold))


def test_natural_lettering_has_cap_height_and_natural_width():
    ink = _natural("I 1", available(NATURAL_FONTS)[0])
    ys, xs = np.nonzero(ink)
    assert ys.min() >= BOX[1] and ys.max() < BOX[3] and ys.max() - ys.min() >= 85
    assert xs.max() - xs.min() < 150  # two thin glyphs are not stretched across 560 px
    cols = ink.any(0)[xs.min():xs.max() + 1]
    assert (~cols).sum() > 20  # white between the I and the 1


@pytest.mark.parametrize("font", available(NATURAL_FONTS), ids=lambda p: p.stem)
def test_descenders_are_kept_so_j_and_q_do_not_look_like_i_and_o(font):
    # Cut to cap height, DejaVu's J was an I and Q's tail vanished: labels that taught I <-> J.
    for plain, tailed in (("I", "J"), ("O", "Q")):
        a, b = _natural(plain, font), _natural(tailed, font)
        assert np.logical_xor(a, b).sum() > 0.25 * a.sum(), (plain, tailed)
    ys, _ = np.nonzero(_natural("QJ", font))
    assert ys.min() >= BOX[1] and ys.max() < BOX[3]


@pytest.mark.parametrize("text", ["BZ 32 BLO", "WWMMWWMMWW", "AB-123·CD", "1"])
@pytest.mark.parametrize("seed", range(4))
def test_natural_text_stays_inside_the_box(text, seed):
    box = (50, 20, 350, 80)  # narrow on purpose: long texts must shrink, not overflow
    for font in available(NATURAL_FONTS):
        ys, xs = np.nonzero(_natural(text, font, seed, box))
        assert xs.size and xs.min() >= box[0] and xs.max() < box[2]
        assert ys.min() >= box[1] and ys.max() < box[3]


def test_eu_plates_mix_the_regular_and_the_bold_look():
    strokes = []
    for seed in range(40):
        img = draw_eu("B311ALY", "EU-RO", np.random.default_rng(seed), ir=False)
        text_area = _ink(img)[24:108, 60:]
        strokes.append(_stroke_px(text_area))
    thin = sum(s <= 11 for s in strokes)
    assert thin >= 20 and len(strokes) - thin >= 5  # both looks occur, thin strokes the more


def test_eu_texts_fit_their_country():
    rng = np.random.default_rng(0)
    for code in EU_PATTERNS:
        for _ in range(30):
            text = eu_text(rng, code)
            assert matching_region(text, code) == code, (code, text)


def test_letter_i_is_as_common_as_other_letters_in_eu_codes():
    rng = np.random.default_rng(1)
    codes = [c for c in EU_PATTERNS if c not in ("EU-FR", "EU-IT", "EU-ES")]
    texts = [eu_text(rng, codes[i % len(codes)]) for i in range(3000)]
    letters = "".join(c for t in texts for c in t if c.isalpha())
    assert letters.count("I") / len(letters) > 1 / 35
    assert letters.count("O") / len(letters) > 1 / 35
    old = "".join(random_text(rng, codes[i % len(codes)]) for i in range(3000))
    old_letters = "".join(c for c in old if c.isalpha())
    # formats.random_text draws I, O, Q in 8 % of letter slots (I: ~2.7 % of letters)
    assert letters.count("I") / len(letters) > 1.2 * old_letters.count("I") / len(old_letters)


def test_romanian_texts_use_county_codes_including_the_i_ones():
    rng = np.random.default_rng(2)
    texts = [eu_text(rng, "EU-RO") for _ in range(1500)]
    heads = {t[:2] if t[1].isalpha() else t[0] for t in texts}
    assert heads <= set(RO_COUNTIES) | {"B"}
    assert {"IF", "IS", "IL", "B"} <= heads
    assert all(t[-3] not in "IOQ" and "Q" not in t for t in texts)
    assert not any("I" in eu_text(rng, "EU-FR") for _ in range(300))
