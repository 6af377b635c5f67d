"""Records the store keeps besides reads, shared with uplink and console."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AccessContext:
    """Who is touching ALPR data and why (Civ. Code §1798.90.52). Required by every store query."""

    user: str
    organisation: str
    role: str  # "admin" | "technician" | "investigator" | "auditor" | "system" | "server"
    purpose: str  # free text, required non-empty for reads of ALPR data
    case_number: str | None = None  # required for investigations
    source: str = "console"  # "console" | "api" | "cli" | "uplink-pull"


@dataclass(frozen=True)
class Alert:
    """A hotlist hit. Always unverified on the unit: an officer confirms it through CLETS."""

    alert_id: str  # uuid4 hex
    read_id: str
    plate: str  # the read's plate text
    matched_entry: str  # the hotlist plate or pattern that matched
    matched_candidate: str  # which candidate string matched
    category: str  # stolen-vehicle | stolen-plate | wanted | missing-person | partial-plate | ...
    hotlist_version: str
    priority: int  # 1 = highest
    created_wall: float
    match_kind: str = "exact"  # exact | pattern | confusion
    notice: str = "UNVERIFIED — confirm through CLETS before enforcement action"
    extra: dict = field(default_factory=dict)
