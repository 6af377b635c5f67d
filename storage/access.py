"""Who may touch ALPR data: every access names a user, organisation and purpose (§1798.90.52)."""

from __future__ import annotations

from storage.exc import AccessDenied
from storage.types import AccessContext

# Roles that investigate: their every access must name the case it is for.
CASE_ROLES = frozenset({"investigator"})


def require(ctx: AccessContext, *, case: bool = False) -> AccessContext:
    """Refuse an access without a user, organisation or purpose (and without a case when needed)."""
    if not isinstance(ctx, AccessContext):
        raise AccessDenied("every access to ALPR data needs an AccessContext")
    if not (ctx.user or "").strip() or not (ctx.organisation or "").strip():
        raise AccessDenied("access to ALPR data must name the user and their organisation")
    if not (ctx.purpose or "").strip():
        raise AccessDenied("access to ALPR data requires a stated purpose "
                           "(Civ. Code §1798.90.52); none was given")
    if (case or ctx.role in CASE_ROLES) and not (ctx.case_number or "").strip():
        what = "this operation" if case else f"role {ctx.role!r}"
        raise AccessDenied(f"{what} requires a case number; none was given")
    return ctx
