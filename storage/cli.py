"""`alpr evidence`, `alpr hold`, `alpr audit`, `alpr release` and `alpr store` commands.

These open the store file directly (WAL lets them run beside the daemon) with the KEK from the
data directory; every command that touches ALPR data names its user, purpose and (for evidence
and holds) case, and is written to the access log like a console access.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from storage.cliargs import add_data_dir, add_who


def register(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to `alpr`."""
    _evidence(sub)
    _hold(sub)
    _audit(sub)
    _release(sub)
    _store(sub)


def _store_args(p: argparse.ArgumentParser, *, ctx: bool = True, case: bool = False) -> None:
    add_data_dir(p)
    p.add_argument("--db", help="store file (default DATA_DIR/store.db)")
    p.add_argument("--kek", default="keys/kek.bin",
                   help="KEK file relative to DATA_DIR, or credential:NAME (%(default)s)")
    p.add_argument("--agency", help="agency that owns the unit (for release checks)")
    if ctx:
        add_who(p, case_required=case)


def _evidence(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("evidence", help="export or verify signed evidence packages")
    ev_sub = ev.add_subparsers(dest="evidence_command", required=True)
    verify = ev_sub.add_parser("verify", help="check a package; exit 1 naming each altered file")
    verify.add_argument("package")
    verify.add_argument("--pubkey", help="the device's Ed25519 public key (PEM) to pin")
    verify.set_defaults(func=_evidence_verify)
    export = ev_sub.add_parser("export", help="export a case's held reads as a signed package")
    _store_args(export, case=True)
    export.add_argument("--out", required=True, help="zip file to write")
    export.add_argument("--read", action="append", dest="reads", help="read id (repeatable)")
    export.add_argument("--identity", default="keys/identity.key",
                        help="device Ed25519 key (PEM) relative to DATA_DIR (%(default)s)")
    export.add_argument("--recipient-agency", help="recipient outside the agency")
    export.add_argument("--request", type=int, help="approved release request id")
    export.set_defaults(func=_evidence_export)


def _hold(sub: argparse._SubParsersAction) -> None:
    hold = sub.add_parser("hold", help="place, release or list evidence holds")
    hold_sub = hold.add_subparsers(dest="hold_command", required=True)
    place = hold_sub.add_parser("place", help="hold reads for a case")
    _store_args(place, case=True)
    place.add_argument("read_ids", nargs="+")
    place.add_argument("--reason", required=True)
    place.set_defaults(func=_hold_place)
    release = hold_sub.add_parser("release", help="release a hold")
    _store_args(release)
    release.add_argument("hold_id", type=int)
    release.add_argument("--reason", required=True)
    release.set_defaults(func=_hold_release)
    lst = hold_sub.add_parser("list", help="list holds")
    _store_args(lst)
    lst.add_argument("--all", action="store_true", help="include released holds")
    lst.set_defaults(func=_hold_list)


def _audit(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="verify the access log or write audit reports")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check the hash chain and signed checkpoints")
    _store_args(verify, ctx=False)
    verify.add_argument("--pubkey", help="device public key (PEM) to check checkpoints against")
    verify.set_defaults(func=_audit_verify)
    rep = audit_sub.add_parser("report", help="per-user and per-purpose summaries (CSV + JSON)")
    _store_args(rep)
    rep.add_argument("--out", required=True, help="directory for the report files")
    rep.add_argument("--since", help="ISO date/time (UTC)")
    rep.add_argument("--until", help="ISO date/time (UTC)")
    rep.set_defaults(func=_audit_report)


def _release(sub: argparse._SubParsersAction) -> None:
    rel = sub.add_parser("release", help="the release register (requests for ALPR data)")
    rel_sub = rel.add_subparsers(dest="release_command", required=True)
    rec = rel_sub.add_parser("record", help="file a request")
    _store_args(rec)
    rec.add_argument("--requesting-agency", required=True)
    rec.add_argument("--agency-type", required=True,
                     help="law-enforcement | prosecutorial (anything else is referred)")
    rec.add_argument("--requester", required=True)
    rec.add_argument("--request-purpose", required=True, help="the requester's stated purpose")
    rec.set_defaults(func=_release_record)
    dec = rel_sub.add_parser("decide", help="approve or deny a pending request")
    _store_args(dec)
    dec.add_argument("request_id", type=int)
    dec.add_argument("--approve", action="store_true")
    dec.add_argument("--deny", action="store_true")
    dec.add_argument("--note", required=True)
    dec.set_defaults(func=_release_decide)
    lst = rel_sub.add_parser("list", help="list every request on file")
    _store_args(lst)
    lst.set_defaults(func=_release_list)


def _store(sub: argparse._SubParsersAction) -> None:
    st = sub.add_parser("store", help="store statistics and retention")
    st_sub = st.add_subparsers(dest="store_command", required=True)
    stats = st_sub.add_parser("stats", help="bytes, counts, backlog (no ALPR data)")
    _store_args(stats, ctx=False)
    stats.set_defaults(func=_store_stats)
    find = st_sub.add_parser("search", help="search reads (logged with its terms and purpose)")
    _store_args(find)
    find.add_argument("--plate", help="exact plate")
    find.add_argument("--pattern", help="partial plate: * any run, ? one character")
    find.add_argument("--since", help="ISO date/time (UTC)")
    find.add_argument("--until", help="ISO date/time (UTC)")
    find.add_argument("--hits-only", action="store_true", help="only reads with a hotlist alert")
    find.add_argument("--limit", type=int, default=100)
    find.set_defaults(func=_store_search)
    purge = st_sub.add_parser("purge", help="purge expired reads now and shred empty periods")
    _store_args(purge, ctx=False)
    purge.add_argument("--retention-after-ack-h", type=float, default=72)
    purge.add_argument("--max-retention-days", type=float, default=30)
    purge.add_argument("--period-h", type=float, default=24, help="as storage.period_h")
    purge.set_defaults(func=_store_purge)


# -- handlers ---------------------------------------------------------------------------------
def _open(args, **retention):
    from storage.keys import resolve_kek
    from storage.store import Store

    data_dir = Path(args.data_dir)
    db = Path(args.db) if args.db else data_dir / "store.db"
    if not db.exists():
        raise SystemExit(f"error: no store at {db}")
    return Store.open(db, resolve_kek(data_dir, args.kek), budget_bytes=2**62,
                      retention_after_ack_s=retention.get("after_ack", 72 * 3600),
                      max_retention_s=retention.get("max_ret", 30 * 86400),
                      period_s=getattr(args, "period_h", 24) * 3600,
                      agency=args.agency)


def _ctx(args):
    from storage.types import AccessContext

    return AccessContext(user=args.user, organisation=args.organisation, role=args.role,
                         purpose=args.purpose, case_number=args.case, source="cli")


def _run(func):
    """Run a handler, turning store errors into a one-line message and exit status 1."""
    from storage.exc import StoreError

    def wrapper(args) -> int:
        try:
            return func(args) or 0
        except (StoreError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return wrapper


@_run
def _evidence_verify(args) -> int:
    from storage.evidence import load_public_key, verify_package

    key = load_public_key(args.pubkey) if args.pubkey else None
    check = verify_package(args.package, key)
    for problem in check.problems:
        print(f"FAIL {problem}")
    if check.ok:
        pinned = "pinned device key" if check.key_pinned else "embedded key only (use --pubkey)"
        print(f"OK {args.package}: {check.files} files, signature verified ({pinned})")
        return 0
    print(f"ALTERED: {', '.join(check.altered) or '(package unreadable)'}")
    return 1


@_run
def _evidence_export(args) -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    identity = Path(args.identity)
    identity = identity if identity.is_absolute() else Path(args.data_dir) / identity
    if identity.stat().st_mode & 0o077:
        raise ValueError(f"{identity}: private key is readable by group/others; chmod 600")
    signer = load_pem_private_key(identity.read_bytes(), password=None)
    if not isinstance(signer, Ed25519PrivateKey):
        raise ValueError(f"{identity}: not an Ed25519 private key")
    with _open(args) as store:
        path = store.export_evidence(_ctx(args), args.out, signer=signer, read_ids=args.reads,
                                     recipient_agency=args.recipient_agency,
                                     release_request_id=args.request)
    print(path)
    return 0


@_run
def _hold_place(args) -> int:
    with _open(args) as store:
        for hold in store.place_hold(_ctx(args), args.read_ids, reason=args.reason):
            print(f"hold {hold.hold_id}: read {hold.read_id} case {hold.case_number}")
    return 0


@_run
def _hold_release(args) -> int:
    with _open(args) as store:
        hold = store.release_hold(_ctx(args), args.hold_id, reason=args.reason)
    print(f"released hold {hold.hold_id} (read {hold.read_id})")
    return 0


@_run
def _hold_list(args) -> int:
    with _open(args) as store:
        for h in store.holds(_ctx(args), args.case, active=not args.all):
            state = "released" if h.released_at else "active"
            print(f"{h.hold_id}\t{h.case_number}\t{h.read_id}\t{state}\t{h.placed_by}\t{h.reason}")
    return 0


@_run
def _audit_verify(args) -> int:
    from storage.evidence import load_public_key

    key = load_public_key(args.pubkey) if args.pubkey else None
    with _open(args) as store:
        result = store.verify_access_log_detail(key)
    if result.ok:
        print(f"OK access log: {result.entries} entries, chain and checkpoints verified")
        return 0
    print(f"FAIL access log at entry {result.first_bad_seq}: {result.reason}")
    return 1


def _when(text: str | None) -> float | None:
    if not text:
        return None
    t = datetime.fromisoformat(text)
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


@_run
def _audit_report(args) -> int:
    with _open(args) as store:
        summary = store.audit_report(_ctx(args), args.out, since=_when(args.since),
                                     until=_when(args.until))
    print(f"{summary['entries']} entries, {len(summary['by_user'])} users, "
          f"{len(summary['without_case_number'])} queries without a case number -> {args.out}")
    return 0


@_run
def _release_record(args) -> int:
    with _open(args) as store:
        req = store.record_release_request(
            _ctx(args), requesting_agency=args.requesting_agency, agency_type=args.agency_type,
            requester=args.requester, purpose=args.request_purpose, case_number=args.case)
    print(f"request {req.request_id}: {req.status}" + (f" ({req.decision_note})"
                                                        if req.status == "referred" else ""))
    return 0


@_run
def _release_decide(args) -> int:
    if args.approve == args.deny:
        raise ValueError("give exactly one of --approve or --deny")
    with _open(args) as store:
        req = store.decide_release_request(_ctx(args), args.request_id, approve=args.approve,
                                           note=args.note)
    print(f"request {req.request_id}: {req.status} by {req.reviewer}")
    return 0


@_run
def _release_list(args) -> int:
    with _open(args) as store:
        for r in store.release_requests(_ctx(args)):
            print(f"{r.request_id}\t{r.status}\t{r.requesting_agency}\t{r.agency_type}\t"
                  f"{r.requester}\t{r.purpose}")
    return 0


@_run
def _store_stats(args) -> int:
    with _open(args) as store:
        print(json.dumps(store.stats(), indent=2, sort_keys=True))
    return 0


@_run
def _store_search(args) -> int:
    with _open(args) as store:
        found = store.search_reads(_ctx(args), plate=args.plate, pattern=args.pattern,
                                   since=_when(args.since), until=_when(args.until),
                                   hits_only=args.hits_only, limit=args.limit)
    for s in found:
        seen = datetime.fromtimestamp(s.read.first_seen_wall, UTC).isoformat(timespec="seconds")
        flags = ",".join(f for f, on in (("hit", s.hit), ("uplinked", s.uplinked),
                                         ("held", s.held)) if on) or "-"
        print(f"{seen}\t{s.read.plate}\t{s.read.confidence:.2f}\t{flags}\t{s.read.read_id}")
    print(f"{len(found)} read(s)", file=sys.stderr)
    return 0


@_run
def _store_purge(args) -> int:
    with _open(args, after_ack=args.retention_after_ack_h * 3600,
               max_ret=args.max_retention_days * 86400) as store:
        purged = store.purge_expired()
    print(json.dumps({str(k): v for k, v in purged.items()}, sort_keys=True))
    return 0
