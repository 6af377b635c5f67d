"""Evidence holds, evidence export and the release register (mixed into Store).

A hold re-seals its read (meta, images, alerts, plate entry and token) under the hold key at
once, so the read's period key can be shredded on schedule while the evidence survives.
Releases of data outside the agency need an approved request from a public law-enforcement or
prosecutorial agency (Civ. Code §1798.90.55(b)); requests stay on file (the table refuses
DELETE).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage import access, evidence
from storage.crypto import normalise_plate
from storage.exc import NotFound, ReleaseError
from storage.types import RECIPIENT_TYPES, AccessContext, Hold, ReleaseRequest

if TYPE_CHECKING:
    from storage.auditlog import AuditLog
    from storage.db import Database
    from storage.keyring import KeyRing
    from storage.plates import PlateColumn
    from storage.ringbuffer import Ring
    from storage.search import Searcher

logger = logging.getLogger(__name__)

_HOLD_COLS = ("hold_id, read_id, case_number, reason, placed_by, organisation, placed_at, "
              "released_at, released_by, release_reason")
_REQ_COLS = ("request_id, requesting_agency, agency_type, requester, purpose, case_number, "
             "received_at, recorded_by, status, reviewer, decided_at, decision_note, fulfilled_at")


def _need(text: str | None, what: str) -> str:
    if not (text or "").strip():
        raise ValueError(f"{what} is required")
    return text.strip()


class Custody:
    _database: Database
    _keys: KeyRing
    _audit: AuditLog
    _pages: PlateColumn
    _search: Searcher
    _ring: Ring
    agency: str | None

    # -- holds ------------------------------------------------------------------------------
    def place_hold(self, ctx: AccessContext, read_ids: list[str], *, reason: str) -> list[Hold]:
        """Hold reads for a case (ctx.case_number): never evicted or purged until released."""
        access.require(ctx, case=True)
        reason = _need(reason, "a hold reason")
        with self._tx("placing a hold"):
            holds = [self._hold_one(ctx, read_id, reason) for read_id in read_ids]
            self._audit.append("hold_placed", ctx=ctx, terms={"read_ids": list(read_ids)},
                               result_count=len(holds), detail={"reason": reason})
            self._ring.shred()
        self._after_shred()
        return holds

    def _hold_one(self, ctx: AccessContext, read_id: str, reason: str) -> Hold:
        conn = self._database.conn
        row = conn.execute("SELECT rid, holds FROM reads WHERE read_id=?", (read_id,)).fetchone()
        if row is None:
            raise NotFound(f"read {read_id} is not stored (evicted or purged?)")
        rid, holds = row
        if holds == 0:
            self._reseal(rid, read_id)
        now = self._clock()
        cur = conn.execute(
            "INSERT INTO holds(rid, read_id, case_number, reason, placed_by, organisation, "
            "placed_at) VALUES (?,?,?,?,?,?,?)",
            (rid, read_id, ctx.case_number, reason, ctx.user, ctx.organisation, now))
        conn.execute("UPDATE reads SET holds = holds + 1, state = 2 WHERE rid=?", (rid,))
        return Hold(cur.lastrowid, read_id, ctx.case_number, reason, ctx.user, ctx.organisation,
                    now)

    def _reseal(self, rid: int, read_id: str) -> None:
        """Move a read (and its alerts) from its period key to the hold key."""
        conn = self._database.conn
        key_id, meta, crop, frame, page = conn.execute(
            "SELECT key_id, meta, crop, frame, page FROM reads WHERE rid=?", (rid,)).fetchone()
        old, new = self._keys.get(key_id), self._keys.hold()
        if old.key_id == new.key_id:
            return

        def move(kind: str, blob: bytes | None, record: str = read_id) -> bytes | None:
            return new.seal(record, kind, old.open(record, kind, blob)) if blob else None

        read = self._search.to_stored((rid, read_id, key_id, 0, 0, 0, 0, None, meta)).read
        if page is not None:
            self._pages.remove({page: {rid}})
        [page] = self._pages.append(new, [(rid, read.first_seen_wall,
                                           normalise_plate(read.plate))])
        conn.execute("UPDATE reads SET key_id=?, meta=?, crop=?, frame=?, plate_tok=?, page=? "
                     "WHERE rid=?", (new.key_id, move("meta", meta), move("crop", crop),
                                     move("frame", frame), new.plate_token(read.plate), page, rid))
        for alert_id, sealed in list(conn.execute(
                "SELECT alert_id, sealed FROM alerts WHERE rid=?", (rid,))):
            conn.execute("UPDATE alerts SET key_id=?, sealed=? WHERE alert_id=?",
                         (new.key_id, move("alert", sealed, alert_id), alert_id))
        self._keys.adjust(old.key_id, -1)
        self._keys.adjust(new.key_id, 1)

    def release_hold(self, ctx: AccessContext, hold_id: int, *, reason: str) -> Hold:
        """End a hold; the read then follows normal retention again (under the hold key)."""
        access.require(ctx)
        reason = _need(reason, "a reason for releasing the hold")
        conn = self._database.conn
        with self._tx("releasing a hold"):
            row = conn.execute("SELECT rid, released_at FROM holds WHERE hold_id=?",
                               (hold_id,)).fetchone()
            if row is None or row[1] is not None:
                raise NotFound(f"no active hold {hold_id}")
            conn.execute("UPDATE holds SET released_at=?, released_by=?, release_reason=? "
                         "WHERE hold_id=?", (self._clock(), ctx.user, reason, hold_id))
            conn.execute("UPDATE reads SET holds = holds - 1, state = CASE WHEN holds > 1 THEN 2 "
                         "WHEN acked IS NULL THEN 0 ELSE 1 END WHERE rid=?", (row[0],))
            self._audit.append("hold_released", ctx=ctx, terms={"hold_id": hold_id},
                               result_count=1, detail={"reason": reason})
            return self._hold(hold_id)

    def _hold(self, hold_id: int) -> Hold:
        row = self._database.conn.execute(f"SELECT {_HOLD_COLS} FROM holds WHERE hold_id=?",  # noqa: S608
                                          (hold_id,)).fetchone()
        return Hold(*row)

    def holds(self, ctx: AccessContext, case_number: str | None = None,
              active: bool = True) -> list[Hold]:
        access.require(ctx)
        sql, args = f"SELECT {_HOLD_COLS} FROM holds WHERE 1=1", []  # noqa: S608
        if case_number:
            sql, args = sql + " AND case_number=?", [case_number]
        if active:
            sql += " AND released_at IS NULL"
        with self._tx("listing holds"):
            found = [Hold(*r) for r in self._database.conn.execute(sql + " ORDER BY hold_id", args)]
            self._audit.append("holds_view", ctx=ctx, terms={"case_number": case_number},
                               result_count=len(found))
        return found

    # -- release register -------------------------------------------------------------------
    def record_release_request(self, ctx: AccessContext, *, requesting_agency: str,
                               agency_type: str, requester: str, purpose: str,
                               case_number: str | None = None) -> ReleaseRequest:
        """File a request; one from outside RECIPIENT_TYPES is referred, never fulfillable here."""
        access.require(ctx)
        fields = [_need(requesting_agency, "the requesting agency"),
                  _need(agency_type, "the agency type"), _need(requester, "the requester"),
                  _need(purpose, "a purpose")]
        status = "pending" if agency_type in RECIPIENT_TYPES else "referred"
        note = None if status == "pending" else (
            "referred to the Records Administrator: only public law-enforcement or prosecutorial "
            "agencies may receive ALPR data from the unit (Civ. Code §1798.90.55(b))")
        with self._tx("recording a release request"):
            cur = self._database.conn.execute(
                "INSERT INTO release_requests(requesting_agency, agency_type, requester, purpose, "
                "case_number, received_at, recorded_by, status, decision_note) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (*fields, case_number, self._clock(), ctx.user, status, note))
            self._audit.append("release_request", ctx=ctx, terms={
                "request_id": cur.lastrowid, "requesting_agency": fields[0],
                "agency_type": fields[1]}, detail={"status": status})
            return self._request(cur.lastrowid)

    def decide_release_request(self, ctx: AccessContext, request_id: int, *, approve: bool,
                               note: str) -> ReleaseRequest:
        access.require(ctx)
        note = _need(note, "a decision note")
        with self._tx("deciding a release request"):
            req = self._request(request_id)
            if req.status != "pending":
                raise ReleaseError(f"release request {request_id} is {req.status}; "
                                   "it cannot be decided on the unit")
            status = "approved" if approve else "denied"
            self._database.conn.execute(
                "UPDATE release_requests SET status=?, reviewer=?, decided_at=?, decision_note=? "
                "WHERE request_id=?", (status, ctx.user, self._clock(), note, request_id))
            self._audit.append("release_decision", ctx=ctx, terms={"request_id": request_id},
                               detail={"status": status, "note": note})
            return self._request(request_id)

    def _request(self, request_id: int) -> ReleaseRequest:
        row = self._database.conn.execute(
            f"SELECT {_REQ_COLS} FROM release_requests WHERE request_id=?",  # noqa: S608
            (request_id,)).fetchone()
        if row is None:
            raise NotFound(f"no release request {request_id}")
        return ReleaseRequest(*row)

    def release_requests(self, ctx: AccessContext) -> list[ReleaseRequest]:
        access.require(ctx)
        with self._tx("listing release requests"):
            rows = self._database.conn.execute(
                f"SELECT {_REQ_COLS} FROM release_requests ORDER BY request_id")  # noqa: S608
            found = [ReleaseRequest(*r) for r in rows]
            self._audit.append("release_requests_view", ctx=ctx, result_count=len(found))
        return found

    # -- evidence ---------------------------------------------------------------------------
    def export_evidence(self, ctx: AccessContext, out_path: str | Path, *,
                        signer: Ed25519PrivateKey, read_ids: list[str] | None = None,
                        case_number: str | None = None, recipient_agency: str | None = None,
                        release_request_id: int | None = None) -> Path:
        """Write a signed evidence package (zip) of the case's held reads (or `read_ids`)."""
        access.require(ctx, case=True)
        case = case_number or ctx.case_number
        internal = recipient_agency is None or recipient_agency == self.agency
        recipient = recipient_agency or self.agency or ctx.organisation
        with self._tx("exporting evidence"):
            request = None
            if not internal or release_request_id is not None:
                request = self._check_release(recipient, release_request_id)
            holds = self._holds_of_case(case)
            ids = list(read_ids) if read_ids else list(dict.fromkeys(h.read_id for h in holds))
            if not ids:
                raise NotFound(f"case {case}: no held reads and no read ids given")
            reads = []
            for read_id in ids:
                found = self._search.get(read_id, with_images=True)
                if found is None:
                    raise NotFound(f"read {read_id} is not stored (evicted or purged?)")
                reads.append(found)
            seq = self._audit.append("evidence_export", ctx=ctx, terms={
                "read_ids": ids, "case_number": case, "recipient_agency": recipient,
                "release_request_id": release_request_id}, result_count=len(reads))
            custody = evidence.custody_record(ctx, case, recipient, request, holds, ids, seq,
                                              self.agency, self._clock())
            path = evidence.build_package(out_path, reads, custody, signer)
            if request is not None:
                self._database.conn.execute(
                    "UPDATE release_requests SET fulfilled_at=? WHERE request_id=?",
                    (self._clock(), request.request_id))
        return path

    def _holds_of_case(self, case: str) -> list[Hold]:
        return [Hold(*r) for r in self._database.conn.execute(
            f"SELECT {_HOLD_COLS} FROM holds WHERE case_number=? ORDER BY hold_id",  # noqa: S608
            (case,))]

    def _check_release(self, recipient: str, request_id: int | None) -> ReleaseRequest | None:
        """An export outside the agency needs an approved request from that (public) agency."""
        if request_id is None:
            raise ReleaseError(f"export to {recipient!r} (outside {self.agency or 'the agency'}) "
                               "requires an approved release request")
        req = self._request(request_id)
        if req.status != "approved":
            raise ReleaseError(f"release request {request_id} is {req.status}, not approved")
        if req.agency_type not in RECIPIENT_TYPES:
            raise ReleaseError(f"release request {request_id}: {req.agency_type!r} is not a public "
                               "law-enforcement or prosecutorial agency")
        if req.requesting_agency != recipient:
            raise ReleaseError(f"release request {request_id} was approved for "
                               f"{req.requesting_agency!r}, not {recipient!r}")
        return req
