"""Synthetic plates for the detector, from the shared renderer (inference.training.render).

A fixed pool is rendered up front (cheaper than rendering per sample, and reproducible): US
states, EU countries and Brazilian plates, day colour and IR-night looks.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

logger = logging.getLogger(__name__)


def plate_pool(n: int = 1500, seed: int = 99,
               p_ir: float = 0.25) -> list[tuple[np.ndarray, np.ndarray]]:
    """n rendered plates as (gray image with a margin, (4, 2) plate corners in it)."""
    from inference.training.render import render_plate

    rng = np.random.default_rng(seed)
    pool = []
    for _ in range(n):
        p = render_plate(rng, look="ir" if rng.random() < p_ir else "day",
                         camera=bool(rng.random() < 0.5))
        pool.append((cv2.cvtColor(p.image, cv2.COLOR_BGR2GRAY), p.corners.astype(np.float32)))
    logger.info("rendered %d synthetic plates", n)
    return pool


def plate_source(n: int = 1500, seed: int = 99):
    """A sampler callable: rng -> (gray plate image, its corners)."""
    pool = plate_pool(n, seed)

    def draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return pool[int(rng.integers(len(pool)))]

    return draw
