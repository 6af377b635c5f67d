"""`alpr receiver ...` (reference receiver) and `alpr hotlist ...` (signed hotlists)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from storage.cliargs import add_data_dir


def register(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to `alpr`."""
    _register_receiver(sub)
    _register_hotlist(sub)


def _register_receiver(sub: argparse._SubParsersAction) -> None:
    rc = sub.add_parser("receiver", help="reference receiver: verify and store units' batches",
                        description="Without a subcommand: serve HTTPS (POST /v1/batches, "
                        "/metrics).")
    rc.add_argument("--db", help="receiver SQLite file")
    rc.add_argument("--host", default="127.0.0.1")
    rc.add_argument("--port", type=int, default=8444)
    rc.add_argument("--tls-cert", help="PEM certificate (see `receiver make-cert`)")
    rc.add_argument("--tls-key", help="PEM private key")
    rc.add_argument("--hotlist-dir", help="serve the signed hotlists in DIR to enrolled units")
    rc.set_defaults(func=_receiver_serve)
    rs = rc.add_subparsers(dest="receiver_command", metavar="SUBCOMMAND")
    en = rs.add_parser("enroll", help="register a unit's Ed25519 public key")
    en.add_argument("--db", required=True)
    en.add_argument("--unit-id", required=True)
    en.add_argument("--pubkey", required=True, help="the unit's keys/identity.pub (PEM)")
    en.set_defaults(func=_receiver_enroll)
    rv = rs.add_parser("revoke", help="refuse further batches from a unit")
    rv.add_argument("--db", required=True)
    rv.add_argument("--unit-id", required=True)
    rv.set_defaults(func=_receiver_revoke)
    un = rs.add_parser("units", help="list enrolled units and what they sent")
    un.add_argument("--db", required=True)
    un.set_defaults(func=_receiver_units)
    mc = rs.add_parser("make-cert", help="self-signed TLS certificate; prints its SHA-256 pin")
    mc.add_argument("--cert", required=True)
    mc.add_argument("--key", required=True)
    mc.add_argument("--host", action="append", help="DNS name or IP (repeatable)")
    mc.set_defaults(func=_receiver_make_cert)
    pl = rs.add_parser("pull", help="pull batches from a unit's signed pull endpoint")
    pl.add_argument("--db", required=True)
    pl.add_argument("--unit-url", required=True, help="https://unit:8443")
    pl.add_argument("--unit-id", required=True)
    pl.add_argument("--pin", required=True, help="SHA-256 of the unit's console certificate")
    pl.add_argument("--server-key", required=True, help="agency server Ed25519 key (PEM)")
    pl.add_argument("--interval", type=float, default=0, help="repeat every N s (0 = once)")
    pl.set_defaults(func=_receiver_pull)


def _register_hotlist(sub: argparse._SubParsersAction) -> None:
    hl = sub.add_parser("hotlist", help="check, install and show signed hotlists")
    hs = hl.add_subparsers(dest="hotlist_command", required=True, metavar="SUBCOMMAND")
    ck = hs.add_parser("check", help="verify signature and every row; exit 1 if refused")
    ck.add_argument("file")
    _key_args(ck)
    ck.set_defaults(func=_hotlist_check)
    ins = hs.add_parser("install", help="check, then copy atomically into the hotlist directory")
    ins.add_argument("file")
    _key_args(ins)
    ins.set_defaults(func=_hotlist_install)
    sh = hs.add_parser("show", help="active lists and their versions")
    _key_args(sh)
    sh.set_defaults(func=_hotlist_show)
    mt = hs.add_parser("match", help="which entries a plate (and alternatives) would hit")
    mt.add_argument("plates", nargs="+", metavar="PLATE")
    mt.add_argument("--tolerance", type=int, default=1, choices=(0, 1, 2))
    _key_args(mt)
    mt.set_defaults(func=_hotlist_match)


def _key_args(p: argparse.ArgumentParser) -> None:
    add_data_dir(p)
    p.add_argument("--pubkey", help="hotlist public key (default DATA_DIR/trust/hotlist.pub)")
    p.add_argument("--hotlist-dir", help="default DATA_DIR/hotlists")


# -- receiver ----------------------------------------------------------------------------------
def _receiver_serve(args: argparse.Namespace) -> int:
    if not (args.db and args.tls_cert and args.tls_key):
        print("alpr receiver: --db, --tls-cert and --tls-key are required (HTTPS only; "
              "`alpr receiver make-cert` makes a lab certificate)", file=sys.stderr)
        return 2
    from aiohttp import web

    from appliance.uplink.receiver.app import create_app
    from appliance.uplink.receiver.db import ReceiverDB
    from appliance.uplink.tlsutil import cert_pin, server_context

    db = ReceiverDB(args.db)
    print(f"receiver on https://{args.host}:{args.port}  db={args.db}  "
          f"pin={cert_pin(args.tls_cert)}", flush=True)
    try:
        web.run_app(create_app(db, hotlist_dir=args.hotlist_dir), host=args.host, port=args.port,
                    ssl_context=server_context(args.tls_cert, args.tls_key), print=None)
    finally:
        db.close()
    return 0


def _receiver_enroll(args: argparse.Namespace) -> int:
    from appliance.uplink.receiver.db import ReceiverDB

    db = ReceiverDB(args.db)
    try:
        db.enroll(args.unit_id, Path(args.pubkey).read_bytes())
    except (OSError, ValueError) as exc:
        print(f"enroll failed: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    print(f"enrolled {args.unit_id}")
    return 0


def _receiver_revoke(args: argparse.Namespace) -> int:
    from appliance.uplink.receiver.db import ReceiverDB

    db = ReceiverDB(args.db)
    ok = db.revoke(args.unit_id)
    db.close()
    print(f"revoked {args.unit_id}" if ok else f"no unit {args.unit_id}",
          file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def _receiver_units(args: argparse.Namespace) -> int:
    from appliance.uplink.receiver.db import ReceiverDB

    db = ReceiverDB(args.db)
    for u in db.units():
        print(f"{u['unit_id']}\t{'REVOKED' if u['revoked'] else 'active'}\t"
              f"last_seq={u['last_seq']}\treads={db.count('reads', u['unit_id'])}\t"
              f"alerts={db.count('alerts', u['unit_id'])}")
    db.close()
    return 0


def _receiver_make_cert(args: argparse.Namespace) -> int:
    from appliance.uplink.tlsutil import make_self_signed

    pin = make_self_signed(args.cert, args.key, hosts=tuple(args.host or ("localhost",
                                                                          "127.0.0.1")))
    print(pin)
    return 0


def _receiver_pull(args: argparse.Namespace) -> int:
    import asyncio

    import aiohttp
    from cryptography.hazmat.primitives import serialization

    from appliance.uplink.receiver.db import ReceiverDB
    from appliance.uplink.receiver.puller import PullError, pull_once

    key = serialization.load_pem_private_key(Path(args.server_key).read_bytes(), password=None)
    db = ReceiverDB(args.db)

    async def loop() -> int:
        conn = aiohttp.TCPConnector(ssl=aiohttp.Fingerprint(bytes.fromhex(args.pin)))
        async with aiohttp.ClientSession(connector=conn) as session:
            while True:
                try:
                    n = await pull_once(db, session, args.unit_url, args.unit_id, key)
                    print(f"{time.strftime('%H:%M:%S')} stored {n} batches", flush=True)
                except (PullError, aiohttp.ClientError, OSError) as exc:
                    print(f"pull failed: {exc}", file=sys.stderr)
                    if not args.interval:
                        return 1
                if not args.interval:
                    return 0
                await asyncio.sleep(args.interval)

    try:
        return asyncio.run(loop())
    finally:
        db.close()


# -- hotlist -----------------------------------------------------------------------------------
def _manager(args: argparse.Namespace, tolerance: int = 1):
    from appliance.hotlist.manager import HotlistManager
    from appliance.uplink.verify import load_public_key

    data = Path(args.data_dir)
    key_path = Path(args.pubkey) if args.pubkey else data / "trust" / "hotlist.pub"
    try:
        key = load_public_key(key_path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"error: hotlist key {key_path}: {exc}") from None
    return HotlistManager(Path(args.hotlist_dir) if args.hotlist_dir else data / "hotlists", key,
                          tolerance=tolerance)


def _refused(exc, note: str = "") -> int:
    """Print a refused list's problems, one per line (HotlistError.errors), status 1."""
    print(f"{exc.name}: REFUSED{note}", file=sys.stderr)
    for err in exc.errors:
        print(f"  {err}", file=sys.stderr)
    return 1


def _hotlist_check(args: argparse.Namespace) -> int:
    from provisioning.hotlist_format import HotlistError, load_signed

    mgr = _manager(args)
    try:
        hl = load_signed(args.file, mgr.key, now=time.time())
    except HotlistError as exc:
        return _refused(exc)
    print(f"{hl.name}: OK version {hl.version}, {len(hl.entries)} entries "
          f"({hl.expired_skipped} expired skipped) {json.dumps(hl.categories)}")
    return 0


def _hotlist_install(args: argparse.Namespace) -> int:
    from provisioning.hotlist_format import HotlistError

    mgr = _manager(args)
    try:
        hl = mgr.install(args.file)
    except HotlistError as exc:
        return _refused(exc, ", nothing installed")
    print(f"installed {hl.name} version {hl.version} ({len(hl.entries)} entries) "
          f"into {mgr.directory}")
    return 0


def _hotlist_show(args: argparse.Namespace) -> int:
    mgr = _manager(args)
    mgr.reload()
    print(json.dumps({"version": mgr.version, "lists": mgr.active(),
                      "refused": {n: str(e) for n, e in mgr.errors.items()}}, indent=2))
    return 1 if mgr.errors else 0


def _hotlist_match(args: argparse.Namespace) -> int:
    mgr = _manager(args, tolerance=args.tolerance)
    mgr.reload()
    plates = [p.upper() for p in args.plates]
    matches = mgr.matches(plates)
    for m in matches:
        e = m.entry
        print(f"{m.kind}\t{m.candidate}\t{e.plate}\t{e.category}\tpriority {e.priority}\t"
              f"{e.list_name} row {e.row}\tUNVERIFIED — confirm through CLETS")
    if not matches:
        print("no match")
    return 0
