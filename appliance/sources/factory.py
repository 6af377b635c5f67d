"""Build the frame source named by [camera]. Explicit choices fail loudly; auto falls back."""

from __future__ import annotations

import logging

from appliance.config.camera import CameraConfig
from appliance.sources.base import BaseSource, Faults
from appliance.sources.exc import SourceError, SourceUnavailable

logger = logging.getLogger(__name__)


def picamera2_available() -> str | None:
    """None when picamera2 imports here, else the reason it does not."""
    from appliance.sources.picam import load_picamera2

    try:
        load_picamera2()
    except SourceUnavailable as exc:
        return str(exc)
    return None


def build_source(camera: CameraConfig, *, pace: bool = True,
                 faults: Faults | None = None) -> BaseSource:
    """A new, unopened source; SourceUnavailable/SourceError for an unusable explicit choice."""
    kind = camera.source
    if kind == "auto":
        why = picamera2_available()
        if why is None:
            kind = "picamera2"
        else:
            logger.warning("camera.source = auto: no Pi camera stack (%s); "
                           "using the synthetic scene", why)
            kind = "synthetic"
    if kind == "picamera2":
        from appliance.sources.picam import Picamera2Source, load_picamera2

        load_picamera2()  # fail now, loudly, rather than at the first read
        return Picamera2Source(width=camera.width, height=camera.height,
                               lores=(camera.lores_width, camera.lores_height), fps=camera.fps,
                               exposure_us=camera.exposure_us, analogue_gain=camera.analogue_gain,
                               timeout_s=camera.capture_timeout_s, faults=faults)
    if kind == "opencv":
        from appliance.sources.opencv import OpenCVSource

        return OpenCVSource(camera.device, width=camera.width, height=camera.height, fps=camera.fps,
                            loop=camera.loop, pace=None if pace else False, faults=faults)
    if kind == "folder":
        from appliance.sources.folder import FolderSource

        if not camera.device:
            raise SourceError("camera.source = folder needs camera.device = the image directory")
        return FolderSource(camera.device, camera.fps, loop=camera.loop, pace=pace, faults=faults)
    if kind == "synthetic":
        from appliance.sources.synthetic import SyntheticSource

        return SyntheticSource(camera.width, camera.height, camera.fps, seed=camera.synthetic_seed,
                               night=camera.synthetic_night,
                               lores_size=(camera.lores_width, camera.lores_height), pace=pace,
                               exposure_us=camera.exposure_us, analogue_gain=camera.analogue_gain,
                               faults=faults)
    raise SourceError(f"unknown camera.source {kind!r}")
