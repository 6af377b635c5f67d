"""[console]: the local HTTPS web console."""

from pydantic import Field

from appliance.config.base import Section


class ConsoleConfig(Section):
    enabled: bool = Field(True, description="Serve the local console.")
    host: str = Field("127.0.0.1", description="Address to bind (the image's firewall limits it "
                      "to the management network).")
    port: int = Field(8443, ge=1, le=65535, description="HTTPS port.")
    http_redirect_port: int | None = Field(
        None, ge=1, le=65535,
        description="Plain-HTTP port that only redirects to HTTPS; none = off.")
    tls_cert: str = Field("keys/console.crt", description="Console certificate (relative to "
                          "data_dir). Development generates a self-signed one.")
    tls_key: str = Field("keys/console.key",
                         description="Console private key (relative to data_dir).")
    idle_timeout_min: float = Field(15, gt=0, le=240, description="Idle session timeout.")
    absolute_timeout_h: float = Field(8, gt=0, le=24, description="Absolute session lifetime.")
    max_failed_logins: int = Field(5, ge=1, le=50, description="Failed logins within lockout_min "
                                   "before the account (and, separately, the address) is locked.")
    lockout_min: float = Field(15, gt=0, le=1440, description="Lockout duration.")
    self_signed_if_missing: bool = Field(
        True, description="Development: generate a self-signed certificate (loudly logged) when "
        "tls_cert/tls_key are missing; false = refuse to start without the unit's certificate.")
    snapshot_refresh_s: float = Field(3.0, ge=0.5, le=60, description="Live view: seconds between "
                                      "snapshot refreshes (each refresh is an access-log entry).")
    search_max_results: int = Field(500, ge=1, le=10_000,
                                    description="Most reads one search returns.")
