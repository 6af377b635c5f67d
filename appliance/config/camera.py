"""[camera]: which frame source feeds the capture loop and how."""

from typing import Literal

from pydantic import Field

from appliance.config.base import Section


class CameraConfig(Section):
    source: Literal["auto", "picamera2", "opencv", "folder", "synthetic"] = Field(
        "auto", description=(
            "Frame source. auto = picamera2 when present, else synthetic (with a warning)."))
    device: str = Field("", description="opencv: V4L2 device path/index, RTSP URL or video file; "
                        "folder: directory of images to replay.")
    width: int = Field(1280, ge=320, le=4056, description="Main stream width in pixels.")
    height: int = Field(720, ge=240, le=3040, description="Main stream height in pixels.")
    fps: float = Field(15.0, gt=0, le=120, description="Target frame rate.")
    lores_width: int = Field(320, ge=64, le=1280, description="Low-res (motion) stream width.")
    lores_height: int = Field(180, ge=48, le=720, description="Low-res (motion) stream height.")
    exposure_us: int = Field(1000, ge=50, le=100_000, description=(
        "Fixed exposure time in µs; short to freeze moving plates."))
    analogue_gain: float = Field(4.0, ge=1.0, le=16.0, description="Fixed analogue gain.")
    capture_timeout_s: float = Field(2.0, gt=0, le=60, description=(
        "picamera2: no frame for this long counts as camera loss (reopen with backoff)."))
    loop: bool = Field(True, description=(
        "folder/video: start again at the end instead of stopping."))
    synthetic_seed: int = Field(1, description="synthetic: random seed of the scene generator.")
    synthetic_night: bool = Field(False, description=(
        "synthetic: render IR-night (monochrome) scenes."))
    reconnect_initial_s: float = Field(0.5, gt=0, le=60, description=(
        "First reconnect delay after camera loss."))
    reconnect_max_s: float = Field(30.0, gt=0, le=600, description=(
        "Longest reconnect delay (exponential backoff)."))
