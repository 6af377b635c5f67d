"""The console's side of the store: parse request terms, call the store with the caller's
AccessContext (the store logs each access with its terms), and turn results into plain dicts
shared by the pages and the JSON API."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tempfile
from pathlib import Path

from aiohttp import web

PLATE_RE = re.compile(r"^[A-Z0-9*?]{1,12}$")
# Who may ask for a release; other kinds of requester are recorded and referred.
AGENCY_TYPES = ("law-enforcement", "prosecutorial", "other-public", "private")


class QueryError(ValueError):
    """Search terms or a form are invalid; the message says which and why."""


def parse_time(value: str | None, name: str) -> float | None:
    """ISO 8601 (as from <input type=datetime-local>, UTC unless an offset is given) or epoch."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{name}: not a date and time (use YYYY-MM-DDTHH:MM)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def parse_plate(value: str | None) -> tuple[str | None, str | None]:
    """(exact plate, partial pattern): '*' = any run of characters, '?' = one character."""
    if not value:
        return None, None
    plate = re.sub(r"[\s-]", "", value.upper())
    if not PLATE_RE.match(plate):
        raise QueryError("plate: 1-12 letters or digits, with * or ? for unknown characters")
    if "*" in plate or "?" in plate:
        if len(plate.replace("*", "").replace("?", "")) < 2:
            raise QueryError("plate: a partial plate needs at least 2 known characters")
        return None, plate
    return plate, None


def parse_limit(value: str | None, most: int) -> int:
    try:
        limit = int(value or 100)
    except ValueError:
        raise QueryError("limit: not a number") from None
    if not 1 <= limit <= most:
        raise QueryError(f"limit: between 1 and {most}")
    return limit


def read_dict(stored) -> dict:
    """A StoredRead without its images (fetched separately, each access-logged)."""
    read = stored.read
    out = {f.name: getattr(read, f.name) for f in dataclasses.fields(read)
           if f.name not in ("crop_jpeg", "frame_jpeg")}
    out["candidates"] = [dataclasses.asdict(c) for c in read.candidates]
    out["box"] = list(read.box)
    out["has_crop"], out["has_frame"] = bool(read.crop_jpeg), bool(read.frame_jpeg)
    out.update(stored_wall=stored.stored_wall, uplinked=stored.uplinked, held=stored.held,
               hit=stored.hit)
    return out


def search(svc, ctx, query: dict) -> list[dict]:
    plate, pattern = parse_plate(query.get("plate"))
    since, until = parse_time(query.get("since"), "since"), parse_time(query.get("until"), "until")
    if since is not None and until is not None and since > until:
        raise QueryError("since: must be before until")
    if pattern and max(len(p) for p in re.split(r"[*?]", pattern)) < 3 and None in (since, until):
        raise QueryError("plate: a partial plate with fewer than 3 known characters in a row "
                         "needs a time range (from and to)")
    limit = parse_limit(query.get("limit"), svc.config.console.search_max_results)
    hits_only = str(query.get("hits", "")).lower() in ("1", "on", "true", "yes")
    reads = svc.store.search_reads(ctx, plate=plate, pattern=pattern, since=since, until=until,
                                   hits_only=hits_only, limit=limit)
    return [read_dict(r) for r in reads]


def get_read(svc, ctx, read_id: str, images: bool = False) -> dict:
    if not re.fullmatch(r"[0-9a-f]{32}", read_id):
        raise web.HTTPNotFound()
    try:
        stored = svc.store.get_read(ctx, read_id, with_images=images)
    except KeyError:  # storage.exc.NotFound: never stored, evicted or purged
        raise web.HTTPNotFound() from None
    out = read_dict(stored)
    if images:
        out["crop_jpeg"], out["frame_jpeg"] = stored.read.crop_jpeg, stored.read.frame_jpeg
    return out


def alerts(svc, ctx, limit: int = 100) -> list[dict]:
    return [dataclasses.asdict(a) for a in svc.store.alerts(ctx, limit=limit)]


def holds(svc, ctx) -> list[dict]:
    return [_plain(h) for h in svc.store.holds(ctx)]


def _plain(obj) -> dict:
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else dict(obj)


def _text(form: dict, key: str, label: str, most: int = 500) -> str:
    value = " ".join(str(form.get(key, "") or "").split())
    if not value:
        raise QueryError(f"{label} is required")
    if len(value) > most:
        raise QueryError(f"{label}: at most {most} characters")
    return value


def _int_id(value: str) -> int:
    if not value.isdigit() or len(value) > 12:
        raise web.HTTPNotFound()
    return int(value)


def place_hold(svc, ctx, form: dict) -> list[dict]:
    """Hold reads for the case the user stated with their purpose."""
    read_ids = [r for r in re.split(r"[\s,]+", str(form.get("read_ids", ""))) if r]
    if not read_ids or not all(re.fullmatch(r"[0-9a-f]{32}", r) for r in read_ids):
        raise QueryError("read ids: one or more read ids (32 hex characters)")
    reason = _text(form, "reason", "reason")
    try:
        return [_plain(h) for h in svc.store.place_hold(ctx, read_ids, reason=reason)]
    except KeyError as exc:
        raise QueryError(str(exc).strip("'\"")) from None


def release_hold(svc, ctx, hold_id: str, reason: str) -> dict:
    reason = _text({"r": reason}, "r", "reason")
    try:
        return _plain(svc.store.release_hold(ctx, _int_id(hold_id), reason=reason))
    except KeyError:
        raise web.HTTPNotFound() from None


def export_evidence(svc, ctx, form: dict) -> tuple[str, bytes]:
    """A signed evidence package of the purpose's case (to another agency: approved request)."""
    if svc.evidence_signer is None:
        raise web.HTTPServiceUnavailable(reason="no device key to sign evidence packages")
    recipient = " ".join(str(form.get("recipient_agency", "") or "").split()) or None
    request_id = str(form.get("release_request_id", "") or "").strip()
    if request_id and not request_id.isdigit():
        raise QueryError("release request: a number")
    with tempfile.TemporaryDirectory(prefix="alpr-evidence-") as tmp:
        out = Path(tmp) / "evidence.zip"
        try:
            path = svc.store.export_evidence(
                ctx, out, signer=svc.evidence_signer, recipient_agency=recipient,
                release_request_id=int(request_id) if request_id else None)
        except KeyError as exc:
            raise QueryError(str(exc).strip("'\"")) from None
        body = Path(path).read_bytes()
    case = re.sub(r"[^A-Za-z0-9_.-]", "_", ctx.case_number or "case")
    return f"evidence-{case}.zip", body


def release_requests(svc, ctx) -> list[dict]:
    return [_plain(r) for r in svc.store.release_requests(ctx)]


def record_release(svc, ctx, form: dict) -> dict:
    agency_type = str(form.get("agency_type", ""))
    if agency_type not in AGENCY_TYPES:
        raise QueryError(f"agency type: one of {', '.join(AGENCY_TYPES)}")
    case = " ".join(str(form.get("case_number", "") or "").split()) or None
    return _plain(svc.store.record_release_request(
        ctx, requesting_agency=_text(form, "requesting_agency", "requesting agency", 200),
        agency_type=agency_type, requester=_text(form, "requester", "requester", 200),
        purpose=_text(form, "purpose", "purpose"), case_number=case))


def decide_release(svc, ctx, request_id: str, form: dict) -> dict:
    decision = str(form.get("decision", ""))
    if decision not in ("approved", "denied"):
        raise QueryError("decision: approved or denied")
    note = _text(form, "note", "a decision note")
    try:
        return _plain(svc.store.decide_release_request(ctx, _int_id(request_id),
                                                       approve=decision == "approved", note=note))
    except KeyError:
        raise web.HTTPNotFound() from None


def access_log(svc, ctx, query: dict) -> list[dict]:
    since, until = parse_time(query.get("since"), "since"), parse_time(query.get("until"), "until")
    return [_plain(e) for e in svc.store.access_log(ctx, since=since, until=until)]
