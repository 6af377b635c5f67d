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
