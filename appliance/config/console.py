"""[console]: the local HTTPS web console."""

from pydantic import Field

from appliance.config.base import Section


class ConsoleConfig(Section):
    enabled: bool = Field(True, description="Serve the local console.")
    host: str = Field("127.0.0.1", description="Address to bind (the image's firewall limits it to the management network).")
    port: int = Field(8443, ge=1, le=65535, description="HTTPS port.")
    http_redirect_port: int | None = Field(None, ge=1, le=65535, description="Plain-HTTP port that only redirects to HTTPS; none = off.")
    tls_cert: str = Field("keys/console.crt", description="Console certificate (relative to data_dir). Development generates a self-signed one.")
    tls_key: str = Field("keys/console.key", description="Console private key (relative to data_dir).")
    idle_timeout_min: float = Field(15, gt=0, le=240, description="Idle session timeout.")
    absolute_timeout_h: float = Field(8, gt=0, le=24, description="Absolute session lifetime.")
    max_failed_logins: int = Field(5, ge=1, le=50, description="Failed logins before the account/address is locked out.")
    lockout_min: float = Field(15, gt=0, le=1440, description="Lockout duration.")
