"""Plate fonts for the renderers: found among the system's fonts (Debian fonts-* packages the
training setup installs), loaded once per size."""

from __future__ import annotations

import functools
from pathlib import Path

from PIL import ImageFont

_FONT_ROOTS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))


@functools.cache
def font_path(name: str) -> Path | None:
    for root in _FONT_ROOTS:
        hits = sorted(root.rglob(name)) if root.is_dir() else []
        if hits:
            return hits[0]
    return None


@functools.cache
def available(names: tuple[str, ...]) -> tuple[Path, ...]:
    found = tuple(p for p in (font_path(n) for n in names) if p is not None)
    if not found:
        raise FileNotFoundError(
            f"none of the plate fonts {names[:3]}... is installed; install "
            "fonts-dejavu-core fonts-liberation2 fonts-urw-base35"
        )
    return found


@functools.lru_cache(maxsize=256)
def font(path: Path, px: int) -> ImageFont.FreeTypeFont:
    """The face at `px` pixels (at least 6)."""
    return ImageFont.truetype(str(path), max(6, px))
