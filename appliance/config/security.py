"""[security]: trust anchors, tamper response and signed updates."""

from pydantic import Field

from appliance.config.base import Section


class SecurityConfig(Section):
    trust_dir: str = Field(
        "trust", description="Directory (relative to data_dir) of agency trust anchors "
        "(hotlist, update, pull keys).")
    zeroize_on_tamper: bool = Field(
        False, description="Destroy all key material when the tamper switch opens.")
    update_dir: str = Field(
        "updates", description="Directory (relative to data_dir) of installed signed updates "
        "(versions/ and the current link per kind).")
    update_health_command: str = Field(
        "/opt/alpr/bin/alpr-healthcheck", min_length=1,
        description="Command (split like a shell, no shell run) after an update is switched "
        "in; exit 0 within the timeout keeps it, anything else rolls back.")
    update_health_timeout_s: float = Field(
        180.0, gt=0, le=3600, description="Time allowed for the post-update health check.")
