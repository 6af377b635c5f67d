"""[storage]: the encrypted ring-buffer store."""

from typing import Literal

from pydantic import Field

from appliance.config.base import Section


class StorageConfig(Section):
    budget_mb: float = Field(
        2048, gt=0, description="Byte budget of the store (MiB); oldest data is evicted beyond it.")
    retention_after_ack_h: float = Field(
        72, ge=0, description="Purge reads this long after the agency server acknowledged them.")
    max_retention_days: float = Field(
        30, gt=0, description="Purge reads at the latest this long after capture, acknowledged "
        "or not.")
    access_log_retention_days: float = Field(
        730, ge=0, description="Delete access-log entries older than this once the agency "
        "server has acknowledged them, never past the newest signed checkpoint (which anchors the "
        "rest, so `alpr audit verify` still verifies); 0 keeps the log forever.")
    period_h: float = Field(
        24, gt=0, le=24 * 31,
        description="Length of a data-key period (crypto-shredding granularity).")
    keep_images: bool = Field(
        True, description="Store the plate crop and an overview image with each read.")
    kek_file: str = Field(
        "keys/kek.bin", description="Key-encryption key file (0600), relative to data_dir, or "
        "'credential:NAME' for a systemd credential.")
    synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL", description="SQLite durability: FULL = every stored read survives a power cut "
        "(fsync per commit); NORMAL = survives a crash of the process, may lose the last reads "
        "on power loss.")
