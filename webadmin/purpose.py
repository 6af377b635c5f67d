"""Purpose before data: what a user must state before the console shows any plate data."""

from __future__ import annotations

import re

from storage.types import AccessContext

PURPOSE_KINDS = {
    "investigation": "Criminal investigation (case number required)",
    "maintenance": "Aiming, focus or maintenance of this unit",
    "audit": "Audit of system use (§1798.90.51)",
    "release": "Processing a recorded data release request",
}
CASE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.:-]{1,39}$")


class PurposeError(ValueError):
    """The stated purpose is missing or incomplete."""


def check_purpose(kind: str | None, text: str | None, case_number: str | None,
                  role: str = "") -> tuple[str, str, str | None]:
    """Validate a stated purpose; returns (kind, text, case number or None).

    Investigators always work a case, so they always need a case number (as the store insists).
    """
    kind = (kind or "").strip()
    text = " ".join((text or "").split())
    case = (case_number or "").strip() or None
    if kind not in PURPOSE_KINDS:
        raise PurposeError(f"purpose_kind must be one of {', '.join(PURPOSE_KINDS)}")
    if not 3 <= len(text) <= 200:
        raise PurposeError("describe the purpose in 3 to 200 characters")
    if (kind == "investigation" or role == "investigator") and case is None:
        raise PurposeError("a case number is required for investigations")
    if case is not None and not CASE_RE.match(case):
        raise PurposeError("case number: 2-40 letters, digits or / _ . : -")
    return kind, text, case


def access_context(user, kind: str, text: str, case: str | None, source: str,
                   address: str | None = None) -> AccessContext:
    return AccessContext(user=user.username, organisation=user.organisation, role=user.role,
                         purpose=f"{kind}: {text}", case_number=case, source=source,
                         address=address)
