"""Square / two-line plates for the detector's synthetic pool (no data files; Debian fonts)."""

import numpy as np
import pytest

from inference.training.detector_render import plate_pool
from inference.training.detector_two_line import ASPECT, LAYOUTS, draw_two_line, render_two_line
from inference.training.render import render_plate


@pytest.mark.parametrize("layout", LAYOUTS)
def test_flat_plate_has_its_layout_aspect_and_two_rows_of_ink(layout):
    img, text = draw_two_line(layout, np.random.default_rng(3), ir=False)
    w, h = img.size
    lo, hi = ASPECT[layout]
    assert h == 240 and lo * h - 1 <= w <= hi * h
    assert 4 <= len(text) <= 9 and text.isalnum() and text.upper() == text
    gray = np.asarray(img.convert("L")).astype(np.float32)
    inner = gray[int(h * 0.1):int(h * 0.9), int(w * 0.2):int(w * 0.9)]
    ink = np.abs(inner - np.median(inner)).mean(1) > 20  # rows crossed by characters
    band = np.flatnonzero(np.diff(ink.astype(int)) == 1)  # starts of ink bands
    assert len(band) + int(ink[0]) >= 2  # at least two text rows, a gap between them


def test_rendered_plates_are_square_ish_with_corners_inside_the_image():
    rng = np.random.default_rng(11)
    for i in range(20):
        p = render_two_line(rng, look="ir" if i % 3 == 0 else "day", camera=i % 2 == 0)
        h, w = p.image.shape[:2]
        assert p.image.dtype == np.uint8 and p.image.shape[2] == 3
        assert p.corners.shape == (4, 2) and p.region.startswith("2L-")
        assert (p.corners >= 0).all() and (p.corners[:, 0] <= w).all()
        assert (p.corners[:, 1] <= h).all()
        aspect = np.ptp(p.corners[:, 0]) / np.ptp(p.corners[:, 1])
        assert 0.9 <= aspect <= 2.4  # 1:1 to 2:1 plates, plus perspective
        tl, tr, br, bl = p.corners  # TL, TR, BR, BL order
        assert tl[0] < tr[0] and bl[0] < br[0] and tl[1] < bl[1] and tr[1] < br[1]
    with pytest.raises(ValueError, match="look"):
        render_two_line(rng, look="night")


def test_same_seed_same_plates():
    a = render_two_line(np.random.default_rng(5))
    b = render_two_line(np.random.default_rng(5))
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.corners, b.corners)
    assert a.text == b.text


def test_pool_share_and_unchanged_pool_without_two_line_plates():
    def aspects(pool):
        return np.array([np.ptp(c[:, 0]) / np.ptp(c[:, 1]) for _, c in pool])

    assert (aspects(plate_pool(20, seed=2, p_two_line=1.0)) < 2.1).all()
    # one-line plates are 2:1 (US) to ~5:1 (EU); below 1.45 only two-line ones (1:1 to 2:1)
    assert (aspects(plate_pool(40, seed=2)) >= 1.45).all()
    assert (aspects(plate_pool(40, seed=2, p_two_line=0.5)) < 1.45).sum() >= 5
    # p_two_line=0 draws exactly what the pool drew before stage 4 (stages 1-3 reproducible)
    rng = np.random.default_rng(2)
    for img, corners in plate_pool(4, seed=2):
        look = "ir" if rng.random() < 0.25 else "day"
        p = render_plate(rng, look=look, camera=bool(rng.random() < 0.5))
        np.testing.assert_array_equal(corners, p.corners)
        assert img.shape == p.image.shape[:2]
