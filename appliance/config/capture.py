"""[capture]: the capture loop between camera and recognition."""

from pydantic import Field

from appliance.config.base import Section


class CaptureConfig(Section):
    queue_size: int = Field(2, ge=1, le=64, description=(
        "Frames waiting for recognition (newest wins; older ones are dropped and counted)."))
    workers: int = Field(1, ge=1, le=8, description=(
        "Recognition worker threads (more than 1 only if the recognizer is thread-safe)."))
    motion_gate: bool = Field(True, description=(
        "Skip recognition on frames without motion in the low-res stream."))
    motion_threshold: float = Field(0.004, ge=0, le=1, description=(
        "Fraction of low-res pixels that must change to count as motion."))
    forced_check_s: float = Field(2.0, gt=0, le=60, description=(
        "Run recognition at least this often even without motion."))
    watchdog_stall_s: float = Field(10.0, gt=0, le=600, description=(
        "No frame for this long = stalled: stop WATCHDOG=1 pings."))
