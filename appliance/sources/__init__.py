"""Frame sources: one small protocol, one file per backend (picamera2, OpenCV, folder, synthetic).

Backends are imported when built, so `import appliance.sources` never touches camera libraries.
"""

from appliance.sources.base import BaseSource, Faults, Frame, FrameSource, Pacer
from appliance.sources.exc import (
    CameraDisconnected,
    CameraTimeout,
    EndOfStream,
    SourceClosed,
    SourceError,
    SourceUnavailable,
)
from appliance.sources.factory import build_source
from appliance.sources.reconnect import ReconnectingSource

__all__ = [
    "BaseSource", "CameraDisconnected", "CameraTimeout", "EndOfStream", "Faults", "Frame",
    "FrameSource", "Pacer", "ReconnectingSource", "SourceClosed", "SourceError",
    "SourceUnavailable", "build_source",
]
