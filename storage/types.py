"""Records the store keeps besides reads, shared with uplink and console."""

from __future__ import annotations

from dataclasses import dataclass, field

from inference.types import Read


@dataclass(frozen=True)
class AccessContext:
    """Who is touching ALPR data and why (Civ. Code §1798.90.52). Required by every store query."""

    user: str
    organisation: str
    role: str  # "admin" | "technician" | "investigator" | "auditor" | "system" | "server"
    purpose: str  # free text, required non-empty for reads of ALPR data
    case_number: str | None = None  # required for investigations
    source: str = "console"  # "console" | "api" | "cli" | "uplink-pull"
    address: str | None = None  # client address (console/API), for the access log


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


@dataclass(frozen=True)
class StoredRead:
    """A read as the store returns it: the evidence record plus its storage state."""

    read: Read
    stored_wall: float  # unit clock when it was stored
    uplinked: bool  # the agency server acknowledged it
    held: bool  # under at least one active evidence hold
    hit: bool  # raised a hotlist alert


@dataclass(frozen=True)
class OutboxRecord:
    """One record waiting for the uplink: kind is "alert" | "event" | "read"."""

    kind: str
    record_id: str
    payload: dict


@dataclass(frozen=True)
class Hold:
    hold_id: int
    read_id: str
    case_number: str
    reason: str
    placed_by: str
    organisation: str
    placed_at: float
    released_at: float | None = None
    released_by: str | None = None
    release_reason: str | None = None


@dataclass(frozen=True)
class ReleaseRequest:
    """A request to release ALPR data outside the agency (§1798.90.55(b)); it stays on file."""

    request_id: int
    requesting_agency: str
    agency_type: str  # one of RECIPIENT_TYPES, or anything else (then status "referred")
    requester: str
    purpose: str
    case_number: str | None
    received_at: float
    recorded_by: str
    status: str  # pending | approved | denied | referred
    reviewer: str | None = None
    decided_at: float | None = None
    decision_note: str | None = None
    fulfilled_at: float | None = None


# Only public agencies may receive ALPR data (Civ. Code §1798.90.55(b)).
RECIPIENT_TYPES = ("law-enforcement", "prosecutorial")
