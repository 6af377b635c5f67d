"""[uplink]: signed batches to the agency server, pull endpoint, hotlists."""

from pydantic import Field, model_validator

from appliance.config.base import Section


class UplinkConfig(Section):
    enabled: bool = Field(False, description="Push batches to the agency server.")
    server_url: str = Field("", description="Agency server base URL (https://...).")
    server_cert_sha256: str = Field(
        "", pattern=r"^([0-9a-f]{64})?$",
        description="Pinned SHA-256 of the server's TLS certificate (DER), hex.")
    batch_max_records: int = Field(200, ge=1, le=10_000, description="Records per batch.")
    backoff_initial_s: float = Field(1.0, gt=0, le=60, description="First retry delay.")
    backoff_max_s: float = Field(
        300.0, gt=0, le=3600, description="Longest retry delay (exponential with jitter).")
    pull_enabled: bool = Field(
        True, description="Serve batches to the server on the console port (signed requests).")
    hotlist_dir: str = Field(
        "hotlists", description="Directory (relative to data_dir) of signed hotlists.")
    match_tolerance: int = Field(
        1, ge=0, le=2,
        description="Confusion-aware hotlist matching: max substituted characters.")
    batch_interval_s: float = Field(
        5.0, gt=0, le=3600,
        description="Push pending reads at least this often; alerts are pushed at once.")
    build_ahead_batches: int = Field(
        4, ge=1, le=100,
        description="Batches sealed ahead of the server's acknowledgement (the rest waits in "
        "the outbox, alerts first).")
    push_timeout_s: float = Field(30.0, gt=0, le=600, description="Timeout of one push request.")
    send_overview_images: bool = Field(
        False, description="Include the overview frame, not only the plate crop, in uploads.")
    hotlist_poll_s: float = Field(
        300.0, ge=0, le=86400,
        description="Fetch new signed hotlists from the server this often (0 = never; lists can "
        "still be installed with `alpr hotlist install`).")
    pull_max_skew_s: float = Field(
        300.0, ge=10, le=3600,
        description="Pull requests: accepted clock difference; nonces are remembered this long "
        "(replay window).")

    @model_validator(mode="after")
    def _push_needs_https_and_pin(self) -> "UplinkConfig":
        if self.enabled and not self.server_url.startswith("https://"):
            raise ValueError("uplink.server_url must be https://... when uplink.enabled")
        if self.enabled and not self.server_cert_sha256:
            raise ValueError("uplink.server_cert_sha256 (the pinned certificate) is required "
                             "when uplink.enabled")
        return self
