"""[recognition]: models, threads and the tracker."""

from typing import Literal

from pydantic import Field, field_validator

from appliance.config.base import Section


class RecognitionConfig(Section):
    detector_model: str = Field(
        "detector_int8.tflite",
        description="Detector model file name in inference/models (or an absolute path).",
    )
    ocr_model: str | list[str] | None = Field(
        None,
        description="OCR model file name in inference/models (or an absolute path); a list is "
        "read as an ensemble. Unset: the shipped int8 reader for `region` (four models read as "
        "a cascade, the last two only for unsure plates; `us` and `eu` have their own, "
        "docs/ocr.md).",
    )
    num_threads: int = Field(
        2,
        ge=1,
        le=8,
        description="Interpreter threads per model, and OpenCV's thread pool for the "
        "recognition's image work (set explicitly: oversubscribed threads spin).",
    )
    min_detection_score: float | None = Field(
        None, ge=0, le=1,
        description="Detections below this score are ignored, one tier; unset = the operating "
        "point recorded with the detector model (its manifest's two-tier confirmation, or its "
        "default_threshold).",
    )
    region: Literal["us", "eu", "br", "auto"] = Field(
        "us", description="Plate format family used to rank candidates."
    )
    top_n: int = Field(
        5, ge=1, le=20, description="Alternative strings kept per read (for hotlist matching)."
    )
    repeat_window_s: float = Field(
        30.0,
        ge=0,
        le=3600,
        description="Suppress repeat reads of the same plate within this window.",
    )
    track_timeout_s: float = Field(
        1.0,
        gt=0,
        le=30,
        description="A track without detections for this long is closed and emits its read.",
    )
    min_track_frames: int = Field(
        1,
        ge=1,
        le=100,
        description="Tracks seen in fewer frames emit no read (drops one-frame false positives).",
    )

    @field_validator("ocr_model")
    @classmethod
    def _names_a_model(cls, v: str | list[str] | None) -> str | list[str] | None:
        if v is not None and (not v or (isinstance(v, list) and not all(v))):
            raise ValueError("name at least one OCR model file (and no empty names)")
        return v
