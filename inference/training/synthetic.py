"""Simple synthetic frames with plates at known places, drawn with OpenCV only.

For tests and benchmarks (no data files, no fonts needed): a light plate with a dark border and
condensed characters, placed with perspective on a textured, car-like background.
"""

from __future__ import annotations

import cv2
import numpy as np


def draw_plate(text: str = "7ABC123", width: int = 240, rng: np.random.Generator | None = None,
               ) -> np.ndarray:
    """A BGR US-style plate image (2:1): light background, dark border, tall dark characters."""
    rng = rng or np.random.default_rng(0)
    h = width // 2
    bg = tuple(int(v) for v in rng.integers(215, 250, 3))
    plate = np.full((h, width, 3), bg, np.uint8)
    cv2.rectangle(plate, (2, 2), (width - 3, h - 3), (60, 40, 30), max(2, width // 60))
    cv2.putText(plate, "CALIFORNIA", (int(width * 0.27), int(h * 0.2)), cv2.FONT_HERSHEY_SIMPLEX,
                width / 600, (40, 40, 170), max(1, width // 160))
    # characters drawn wide, then squeezed: narrow and tall like real plate fonts
    big = np.full((h, width * 2, 3), bg, np.uint8)
    cv2.putText(big, text, (int(width * 0.16), int(h * 0.8)), cv2.FONT_HERSHEY_DUPLEX,
                width / 95, (35, 30, 25), max(2, width // 30))
    squeezed = cv2.resize(big, (width, h), interpolation=cv2.INTER_AREA)
    mask = squeezed.sum(2) < sum(bg) - 60
    plate[mask] = squeezed[mask]
    return plate


def compose_frame(plates: list[tuple[int, int, int]], size: tuple[int, int] = (1280, 720),
                  seed: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    """A frame (BGR) holding plates given as (centre x, centre y, width); returns the frame and
    each plate's corners (TL, TR, BR, BL)."""
    rng = np.random.default_rng(seed)
    w, h = size
    noise = rng.integers(60, 180, (h // 16, w // 16, 1), np.uint8)
    noise = noise + rng.integers(0, 20, (h // 16, w // 16, 3), np.uint8)
    frame = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
    frame = cv2.GaussianBlur(frame, (0, 0), 6)
    quads = []
    for i, (cx, cy, pw) in enumerate(plates):
        ph = pw // 2
        body = (int(cx - pw * 1.6), int(cy - ph * 3), int(cx + pw * 1.6), int(cy + ph * 1.5))
        cv2.rectangle(frame, body[:2], body[2:], tuple(int(v) for v in rng.integers(30, 120, 3)),
                      -1)  # the car's rear
        plate = draw_plate(["7ABC123", "4XYZ567", "8KLM901"][i % 3], pw * 2, rng)
        skew = rng.uniform(-0.05, 0.05) * ph
        quad = np.array([[cx - pw / 2, cy - ph / 2 + skew], [cx + pw / 2, cy - ph / 2 - skew],
                         [cx + pw / 2, cy + ph / 2 - skew], [cx - pw / 2, cy + ph / 2 + skew]],
                        np.float32)
        src = np.array([[0, 0], [pw * 2, 0], [pw * 2, pw], [0, pw]], np.float32)
        m = cv2.getPerspectiveTransform(src, quad)
        warped = cv2.warpPerspective(plate, m, (w, h), flags=cv2.INTER_AREA)
        mask = cv2.warpPerspective(np.full(plate.shape[:2], 255, np.uint8), m, (w, h))
        frame[mask > 127] = warped[mask > 127]
        quads.append(quad)
    return frame, quads
