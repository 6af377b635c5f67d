"""Synthetic plates for the detector, from the shared renderer (inference.training.render).

A fixed pool is rendered up front (cheaper than rendering per sample, and reproducible): US
states, EU countries and Brazilian plates, day colour and IR-night looks; from stage 4 a share
of square / two-line plates (`inference.training.detector_two_line`).
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

logger = logging.getLogger(__name__)


def plate_pool(n: int = 1500, seed: int = 99, p_ir: float = 0.25,
               p_two_line: float = 0.0) -> list[tuple[np.ndarray, np.ndarray]]:
    """n rendered plates as (gray image with a margin, (4, 2) plate corners in it).

    `p_two_line`: share of square / two-line plates (0: none and no extra random draw, so the
    pools of stages 1-3 render exactly as before)."""
    from inference.training.detector_two_line import render_two_line
    from inference.training.render import render_plate

    rng = np.random.default_rng(seed)
    pool, n_two = [], 0
    for _ in range(n):
        two_line = p_two_line > 0 and rng.random() < p_two_line
        look = "ir" if rng.random() < p_ir else "day"
        camera = bool(rng.random() < 0.5)
        p = (render_two_line if two_line else render_plate)(rng, look=look, camera=camera)
        n_two += two_line
        pool.append((cv2.cvtColor(p.image, cv2.COLOR_BGR2GRAY), p.corners.astype(np.float32)))
    logger.info("rendered %d synthetic plates (%d two-line)", n, n_two)
    return pool


def plate_source(n: int = 1500, seed: int = 99, p_two_line: float = 0.0):
    """A sampler callable: rng -> (gray plate image, its corners)."""
    pool = plate_pool(n, seed, p_two_line=p_two_line)

    def draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return pool[int(rng.integers(len(pool)))]

    return draw
