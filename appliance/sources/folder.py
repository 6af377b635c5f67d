"""Replay a folder of images (JPEG/PNG/BMP) in name order, once or looping, at a given fps."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2

from appliance.sources.base import BaseSource, Faults, Frame, Pacer, stamp
from appliance.sources.exc import EndOfStream, SourceError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


class FolderSource(BaseSource):
    """Images from a directory. Unreadable files are skipped with a warning and counted."""

    name = "folder"

    def __init__(self, path: str | Path, fps: float = 15.0, *, loop: bool = True, pace: bool = True,
                 faults: Faults | None = None):
        super().__init__(faults=faults)
        self.path = Path(path)
        self.loop = loop
        self._pacer = Pacer(fps if pace else None)
        self._files: list[Path] = []
        self._pos = 0
        self.skipped: list[str] = []  # files that could not be decoded

    def _open(self) -> None:
        if not self.path.is_dir():
            raise SourceError(f"folder source: {self.path} is not a directory")
        self._files = sorted(p for p in self.path.iterdir()
                             if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not self._files:
            raise SourceError(f"folder source: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) "
                              f"in {self.path}")
        self._pos = 0

    def _read(self) -> Frame:
        misses = 0
        while True:
            if self._pos >= len(self._files):
                if not self.loop:
                    raise EndOfStream(f"folder source: {len(self._files)} images played")
                self._pos = 0
            path = self._files[self._pos]
            self._pos += 1
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                break
            misses += 1
            if path.name not in self.skipped:
                self.skipped.append(path.name)
                logger.warning("folder source: cannot decode %s; skipped", path)
            if misses >= len(self._files):
                raise SourceError(f"folder source: no image in {self.path} can be decoded")
        self._pacer.wait()
        return stamp(image, None, metadata={"file": path.name})
