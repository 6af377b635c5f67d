"""Rectification: turn a detected plate into a straight grayscale crop for the OCR.

With four corners the plate is unwarped by a perspective transform (oblique views become
frontal); without them the axis-aligned box is cropped and resized. A small margin is kept
round the plate because detector corners are a few pixels off and edge characters must not be
cut.
"""

from __future__ import annotations

import cv2
import numpy as np

OCR_SIZE = (144, 48)  # (width, height) of the OCR model's input


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Sort four points into TL, TR, BR, BL (robust to the order a detector returns)."""
    pts = np.asarray(pts, np.float32).reshape(4, 2)
    s = pts.sum(axis=1)
    d = np.diff(pts, axis=1).ravel()  # y - x
    out = np.empty((4, 2), np.float32)
    out[0], out[2] = pts[np.argmin(s)], pts[np.argmax(s)]
    out[1], out[3] = pts[np.argmin(d)], pts[np.argmax(d)]
    if len({tuple(p) for p in out}) < 4:  # degenerate (e.g. a 45-degree square): keep given order
        return pts
    return out


def _valid_quad(q: np.ndarray) -> bool:
    if not np.all(np.isfinite(q)):
        return False
    area = 0.5 * abs(np.dot(q[:, 0], np.roll(q[:, 1], 1)) - np.dot(q[:, 1], np.roll(q[:, 0], 1)))
    return area >= 16.0 and cv2.isContourConvex(q.reshape(-1, 1, 2).astype(np.float32))


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _warp(gray: np.ndarray, src: np.ndarray, size: tuple[int, int], dst: np.ndarray) -> np.ndarray:
    """Warp quad `src` onto `dst`, area-averaging first when the plate is much larger than
    `size` (warpPerspective only interpolates, which aliases on big downscales)."""
    out_w, out_h = size
    h, w = gray.shape[:2]
    pad = 0.15 * np.ptp(src, axis=0) + 2  # the margin round the quad is sampled too
    x0, y0 = np.floor(src.min(axis=0) - pad).astype(int)
    x1, y1 = np.ceil(src.max(axis=0) + pad).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise ValueError("plate region lies outside the image")
    roi, src = gray[y0:y1, x0:x1], src - np.array([x0, y0], np.float32)
    f = min(out_w / max(1.0, float(np.ptp(src[:, 0]))), out_h / max(1.0, float(np.ptp(src[:, 1]))))
    if f < 0.7:
        roi = cv2.resize(roi, None, fx=f * 1.2, fy=f * 1.2, interpolation=cv2.INTER_AREA)
        src = src * np.float32(f * 1.2)
    m = cv2.getPerspectiveTransform(src.astype(np.float32), dst)
    return cv2.warpPerspective(
        roi, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def rectify(
    image: np.ndarray,
    corners: np.ndarray | None = None,
    box: tuple[float, float, float, float] | None = None,
    size: tuple[int, int] = OCR_SIZE,
    margin: float = 0.04,
) -> np.ndarray:
    """Grayscale (h, w) uint8 crop of the plate, `size` = (w, h).

    `corners`: (4, 2) plate corners in image pixels (any order). `box`: (x, y, w, h), used when
    corners are absent or degenerate. `margin`: fraction of the plate's width/height kept round
    it. Raises ValueError when neither gives a usable region.
    """
    gray = to_gray(image)
    out_w, out_h = size
    if corners is not None:
        q = order_corners(corners)
        if _valid_quad(q):
            mx, my = margin * out_w, margin * out_h * 2
            dst = np.array(
                [[mx, my], [out_w - mx, my], [out_w - mx, out_h - my], [mx, out_h - my]],
                np.float32,
            )
            return _warp(gray, q, size, dst)
    if box is None:
        raise ValueError("rectify needs valid corners or a box")
    x, y, w, h = (float(v) for v in box)
    if not (w > 1 and h > 1 and np.isfinite([x, y, w, h]).all()):
        raise ValueError(f"degenerate plate box {box}")
    x0, y0 = x - margin * w, y - margin * h * 2
    x1, y1 = x + w + margin * w, y + h + margin * h * 2
    src = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
    dst = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], np.float32)
    return _warp(gray, src, size, dst)


def grow_quad(corners: np.ndarray, grow_x: float, grow_y: float) -> np.ndarray:
    """The quad (any order) with its left and right sides moved out by `grow_x` of its width and
    its top and bottom by `grow_y` of its height, along the plate's own axes: a detector's
    corners tend to sit inside the plate, and a clipped edge character cannot be read."""
    c = order_corners(corners)
    across = (c[1] - c[0] + c[2] - c[3]) / 2
    down = (c[3] - c[0] + c[2] - c[1]) / 2
    c[[0, 3]] -= grow_x * across
    c[[1, 2]] += grow_x * across
    c[[0, 1]] -= grow_y * down
    c[[2, 3]] += grow_y * down
    return c


def box_of(corners: np.ndarray) -> tuple[float, float, float, float]:
    c = np.asarray(corners, np.float32).reshape(4, 2)
    x0, y0 = c.min(axis=0)
    x1, y1 = c.max(axis=0)
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)
