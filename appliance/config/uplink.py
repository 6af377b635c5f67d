"""[uplink]: signed batches to the agency server, pull endpoint, hotlists."""

from pydantic import Field

from appliance.config.base import Section


class UplinkConfig(Section):
    enabled: bool = Field(False, description="Push batches to the agency server.")
    server_url: str = Field("", description="Agency server base URL (https://...).")
    server_cert_sha256: str = Field("", pattern=r"^([0-9a-f]{64})?$", description="Pinned SHA-256 of the server's TLS certificate (DER), hex.")
    batch_max_records: int = Field(200, ge=1, le=10_000, description="Records per batch.")
    backoff_initial_s: float = Field(1.0, gt=0, le=60, description="First retry delay.")
    backoff_max_s: float = Field(300.0, gt=0, le=3600, description="Longest retry delay (exponential with jitter).")
    pull_enabled: bool = Field(True, description="Serve batches to the server on the console port (signed requests).")
    hotlist_dir: str = Field("hotlists", description="Directory (relative to data_dir) of signed hotlists.")
    match_tolerance: int = Field(1, ge=0, le=2, description="Confusion-aware hotlist matching: max substituted characters.")
