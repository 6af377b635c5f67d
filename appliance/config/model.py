"""The root of the config schema: one section per area of the unit."""

from pydantic import Field

from appliance.config.base import Section
from appliance.config.camera import CameraConfig
from appliance.config.capture import CaptureConfig
from appliance.config.console import ConsoleConfig
from appliance.config.gpio import GpioConfig
from appliance.config.recognition import RecognitionConfig
from appliance.config.security import SecurityConfig
from appliance.config.storage import StorageConfig
from appliance.config.unit import UnitConfig
from appliance.config.uplink import UplinkConfig


class AlprConfig(Section):
    """Effective configuration of one unit. Every field has a default (the embedded default)."""

    config_version: int = Field(1, ge=1, le=1, description="Schema version of this file.")
    unit: UnitConfig = Field(default_factory=UnitConfig, description="Identity and policy.")
    camera: CameraConfig = Field(default_factory=CameraConfig, description="Frame source.")
    gpio: GpioConfig = Field(default_factory=GpioConfig, description="GPIO devices.")
    capture: CaptureConfig = Field(default_factory=CaptureConfig, description="Capture loop.")
    recognition: RecognitionConfig = Field(default_factory=RecognitionConfig,
                                           description="Models and tracker.")
    storage: StorageConfig = Field(default_factory=StorageConfig, description="Encrypted store.")
    uplink: UplinkConfig = Field(default_factory=UplinkConfig,
                                 description="Agency server link and hotlists.")
    console: ConsoleConfig = Field(default_factory=ConsoleConfig,
                                   description="Local web console.")
    security: SecurityConfig = Field(default_factory=SecurityConfig,
                                     description="Trust and tamper.")
