"""The capture loop between the frame source and recognition, with health and sd_notify."""

from appliance.capture.loop import CaptureLoop, ReadSink
from appliance.capture.queue import NewestWinsQueue

__all__ = ["CaptureLoop", "NewestWinsQueue", "ReadSink"]
