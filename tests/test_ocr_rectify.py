"""Rectification geometry: corners are unwarped onto the crop, the box is the fallback."""

import cv2
import numpy as np
import pytest

from inference.rectify import OCR_SIZE, box_of, order_corners, rectify


def checker_plate():
    """A 400x200 plate: white with a black square in its top-left quarter, gray elsewhere."""
    img = np.full((200, 400), 255, np.uint8)
    img[:100, :200] = 0
    img[100:, 200:] = 128
    return img


def warp_into_scene(plate, quad, size=(900, 600)):
    h, w = plate.shape
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    return cv2.warpPerspective(plate, m, size, borderValue=60)


def test_order_corners_any_input_order():
    q = np.array([[10, 10], [110, 12], [108, 60], [12, 58]], np.float32)
    for perm in ([2, 0, 3, 1], [3, 2, 1, 0], [1, 3, 0, 2]):
        np.testing.assert_array_equal(order_corners(q[perm]), q)


def test_perspective_plate_is_unwarped():
    quad = np.array([[300, 200], [620, 240], [610, 370], [310, 380]], np.float32)
    scene = warp_into_scene(checker_plate(), quad)
    crop = rectify(scene, quad[[2, 0, 1, 3]], margin=0.0)  # order must not matter
    assert crop.shape == (OCR_SIZE[1], OCR_SIZE[0]) and crop.dtype == np.uint8
    h, w = crop.shape
    tl = crop[4 : h // 2 - 4, 4 : w // 2 - 4].mean()
    tr = crop[4 : h // 2 - 4, w // 2 + 4 : -4].mean()
    br = crop[h // 2 + 4 : -4, w // 2 + 4 : -4].mean()
    assert tl < 20 and tr > 235 and 110 < br < 146


def test_margin_keeps_context_round_the_plate():
    quad = np.array([[300, 200], [700, 200], [700, 400], [300, 400]], np.float32)
    scene = warp_into_scene(checker_plate(), quad)
    crop = rectify(scene, quad, margin=0.1)
    assert abs(int(crop[1, OCR_SIZE[0] // 2]) - 60) < 8  # the border row is background
    assert crop[OCR_SIZE[1] // 3, OCR_SIZE[0] // 4] < 30  # still the black quarter inside


def test_box_fallback_when_corners_missing_or_degenerate():
    quad = np.array([[300, 200], [700, 200], [700, 400], [300, 400]], np.float32)
    scene = warp_into_scene(checker_plate(), quad)
    box = box_of(quad)
    a = rectify(scene, None, box, margin=0.0)
    b = rectify(scene, np.zeros((4, 2)), box, margin=0.0)  # collapsed corners -> box
    c = rectify(scene, quad, margin=0.0)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() < 6


def test_big_plate_is_area_averaged_not_aliased():
    stripes = np.zeros((400, 1600), np.uint8)
    stripes[:, ::2] = 255  # finer than the output grid: must average to mid-gray
    quad = np.array([[0, 0], [1600, 0], [1600, 400], [0, 400]], np.float32)
    crop = rectify(stripes, quad, margin=0.0)
    assert 100 < crop[10:-10, 10:-10].mean() < 155
    assert crop[10:-10, 10:-10].std() < 40


def test_bad_regions_raise():
    img = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(ValueError):
        rectify(img, None, None)
    with pytest.raises(ValueError):
        rectify(img, None, (10, 10, 0, 5))
    with pytest.raises(ValueError):
        rectify(img, None, (500, 500, 20, 10))  # outside the image
