"""Image effects shared by the plate renderer and OCR training augmentation (numpy + OpenCV).

Each function takes and returns uint8 images and draws its randomness from the Generator passed
in, so data sets are reproducible.
"""

from __future__ import annotations

import cv2
import numpy as np


def dirt(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Soft dark blotches and streaks, as road grime on a plate."""
    h, w = img.shape[:2]
    mask = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(2, 12))):
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(3, w // 6)), int(rng.integers(2, h // 5)))
        cv2.ellipse(
            mask, c, axes, float(rng.uniform(0, 180)), 0, 360, float(rng.uniform(0.1, 0.5)), -1
        )
    k = max(3, (w // 40) | 1)
    mask = cv2.GaussianBlur(mask, (k, k), 0)[:, :, None]
    tint = np.array(rng.integers(40, 110, 3), np.float32)
    return (img * (1 - mask) + tint * mask).astype(np.uint8)


def glare(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A bright elliptical highlight (sun or headlight on the plate's film)."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    sx, sy = rng.uniform(0.1, 0.5) * w, rng.uniform(0.2, 0.8) * h
    g = np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2)) * rng.uniform(0.3, 0.9)
    return np.clip(img + g[:, :, None] * 255, 0, 255).astype(np.uint8)


def background(h: int, w: int, rng: np.random.Generator, ir: bool) -> np.ndarray:
    """A bumper-like background: a colour, a gradient, some edges and noise (BGR)."""
    base = rng.integers(5, 60, 3) if ir else rng.integers(0, 256, 3)
    img = np.empty((h, w, 3), np.float32)
    img[:] = base
    ramp = np.linspace(-1, 1, h, dtype=np.float32)[:, None, None]
    img += ramp * rng.uniform(-40, 40)
    for _ in range(int(rng.integers(0, 4))):
        y = int(rng.integers(0, h))
        cv2.line(
            img,
            (0, y),
            (w, y + int(rng.integers(-h // 4, h // 4 + 1))),
            tuple(float(v) for v in rng.integers(0, 256, 3)),
            int(rng.integers(1, 4)),
        )
    img += rng.normal(0, rng.uniform(2, 12), (h, w, 1))
    return np.clip(img, 0, 255).astype(np.uint8)


def place(
    flat_rgb: np.ndarray, out_w: int, rng: np.random.Generator, ir: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Warp the flat plate with a random perspective onto a background with a margin.

    Returns (BGR image, (4, 2) corners TL, TR, BR, BL in that image).
    """
    fh, fw = flat_rgb.shape[:2]
    out_h = out_w * fh / fw
    # Destination quad: rotation, perspective (one side shorter), shear, then a margin.
    ang = np.radians(rng.normal(0, 4))
    persp = rng.uniform(-0.12, 0.12)
    shear = rng.normal(0, 0.08)
    quad = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], np.float64)
    d = abs(persp) * out_h / 2  # the far side of a plate seen from the side is shorter
    side = (1, 2) if persp > 0 else (0, 3)
    quad[side[0], 1] += d
    quad[side[1], 1] -= d
    tilt = rng.uniform(-0.02, 0.08) * out_w / 2  # camera above: the top edge is shorter
    quad[0, 0] += tilt
    quad[1, 0] -= tilt
    quad[:, 0] += quad[:, 1] * shear
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    quad = (quad - quad.mean(0)) @ rot.T
    margin_x = out_w * rng.uniform(0.08, 0.35)
    margin_y = out_h * rng.uniform(0.15, 0.6)
    quad -= quad.min(0) - [margin_x, margin_y]
    size = (int(np.ceil(quad[:, 0].max() + margin_x)), int(np.ceil(quad[:, 1].max() + margin_y)))
    src = np.array([[0, 0], [fw, 0], [fw, fh], [0, fh]], np.float32)
    m = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    # Downscale in steps so small plates get area-averaged like a camera's pixels.
    bgr = cv2.cvtColor(flat_rgb, cv2.COLOR_RGB2BGR)
    warped = cv2.warpPerspective(
        bgr, m, size, flags=cv2.INTER_AREA if out_w < fw else cv2.INTER_LINEAR
    )
    alpha = cv2.warpPerspective(np.full((fh, fw), 255, np.uint8), m, size, flags=cv2.INTER_LINEAR)
    a = alpha.astype(np.float32)[:, :, None] / 255
    bg = background(size[1], size[0], rng, ir)
    out = (warped * a + bg * (1 - a)).astype(np.uint8)
    return out, quad.astype(np.float32)


def ir_look(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """IR-lit night: monochrome, retro-reflective plate bright, surroundings dark (BGR out)."""
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255
    g = np.clip(g ** rng.uniform(0.5, 1.2) * rng.uniform(0.9, 1.3), 0, 1)
    g = (g * 255).astype(np.uint8)
    return cv2.cvtColor(g, cv2.COLOR_GRAY2BGR)


def motion_blur(img: np.ndarray, rng: np.random.Generator, max_len: int) -> np.ndarray:
    n = int(rng.integers(2, max(3, max_len) + 1))
    k = np.zeros((n, n), np.float32)
    k[n // 2, :] = 1.0 / n
    rot = cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), float(rng.uniform(-30, 30)), 1.0)
    k = cv2.warpAffine(k, rot, (n, n))
    return cv2.filter2D(img, -1, k / max(k.sum(), 1e-6))


def camera(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Focus blur, motion blur, brightness/contrast, sensor noise and JPEG artefacts."""
    w = img.shape[1]
    if rng.random() < 0.3:
        img = motion_blur(img, rng, max(2, w // 40))
    if rng.random() < 0.4:
        s = rng.uniform(0.3, 1.2) * max(1.0, w / 200)
        img = cv2.GaussianBlur(img, (0, 0), s)
    f = img.astype(np.float32) * rng.uniform(0.6, 1.3) + rng.uniform(-40, 40)
    f += rng.normal(0, rng.uniform(0, 10), f.shape[:2])[:, :, None]
    img = np.clip(f, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        q = int(rng.integers(25, 95))
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return img
