"""[security]: trust anchors and tamper response."""

from pydantic import Field

from appliance.config.base import Section


class SecurityConfig(Section):
    trust_dir: str = Field("trust", description="Directory (relative to data_dir) of agency trust anchors (hotlist, update, pull keys).")
    zeroize_on_tamper: bool = Field(False, description="Destroy all key material when the tamper switch opens.")
