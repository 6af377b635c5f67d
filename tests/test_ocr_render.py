"""Synthetic plate renderer: reproducible, corners on the plate, every region and look."""

import numpy as np
import pytest

from inference.formats import matching_region
from inference.training.render import render_plate


@pytest.mark.parametrize("region", ["us", "eu", "br", "US-CA", "EU-DE"])
@pytest.mark.parametrize("look", ["day", "ir"])
def test_render_regions_and_looks(region, look):
    p = render_plate(np.random.default_rng(7), look=look, region=region)
    assert p.image.dtype == np.uint8 and p.image.ndim == 3 and p.image.shape[2] == 3
    assert p.corners.shape == (4, 2)
    h, w = p.image.shape[:2]
    assert (p.corners >= 0).all() and (p.corners[:, 0] <= w).all() and (p.corners[:, 1] <= h).all()
    assert p.text.isalnum() and p.text == p.text.upper() and 1 <= len(p.text) <= 10
    if look == "ir":
        b, g, r = (p.image[:, :, i].astype(int) for i in range(3))
        assert np.abs(b - g).max() <= 1 and np.abs(g - r).max() <= 1
    # The plate is brighter than its surroundings on average at night.
    if look == "ir":
        ys, xs = np.mgrid[0:h, 0:w]
        inside = (
            (xs > p.corners[:, 0].min() + 3)
            & (xs < p.corners[:, 0].max() - 3)
            & (ys > p.corners[:, 1].min() + 3)
            & (ys < p.corners[:, 1].max() - 3)
        )
        assert p.image[inside].mean() > p.image[~inside].mean()


def test_given_text_and_code():
    p = render_plate(np.random.default_rng(1), text="7ABC123", region="US-CA", width=200)
    assert p.text == "7ABC123" and p.region == "US-CA"
    assert 150 < np.ptp(p.corners[:, 0]) < 260
    assert matching_region(p.text, "us") == "US-CA"


def test_reproducible_from_seed():
    a = render_plate(np.random.default_rng(42))
    b = render_plate(np.random.default_rng(42))
    assert a.text == b.text and np.array_equal(a.image, b.image)


def test_bad_look_is_rejected():
    with pytest.raises(ValueError, match="look"):
        render_plate(np.random.default_rng(0), look="dusk")


def test_stacked_letters_are_drawn_but_not_in_the_text():
    plain = render_plate(np.random.default_rng(11), text="7ABC123", region="US-CA", camera=False)
    again = render_plate(np.random.default_rng(11), text="7ABC123", region="US-CA", camera=False,
                         stacked=0.0)
    stacked = render_plate(np.random.default_rng(11), text="7ABC123", region="US-CA",
                           camera=False, stacked=1.0)
    assert np.array_equal(plain.image, again.image)  # stacked=0 draws nothing extra at random
    assert stacked.text == "7ABC123"
    assert plain.image.shape != stacked.image.shape or not np.array_equal(plain.image,
                                                                          stacked.image)


def test_mercosur_plate_has_its_blue_band():
    p = render_plate(np.random.default_rng(4), text="ABC1D23", region="BR", camera=False)
    assert p.text == "ABC1D23" and matching_region(p.text, "br") == "BR"
    x0, y0 = p.corners[0]
    x1 = p.corners[1][0]
    h = np.ptp(p.corners[:, 1])
    band = p.image[int(y0 + 0.08 * h), int(x0 + 0.3 * (x1 - x0)):int(x0 + 0.45 * (x1 - x0))]
    assert band[:, 0].mean() > band[:, 2].mean() + 30  # BGR: blue over red
