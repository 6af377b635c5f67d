"""`alpr provision ...`, `alpr agency ...`, `alpr update ...` and `alpr zeroize`.

The command line of the `provisioning` package. It lives here, in the composition root, because
it joins provisioning to the unit's config schema and the reference receiver (appliance), and
provisioning itself must not import appliance (dependencies flow one way).
Parsers only at import; cryptography and the rest load inside the handlers.
"""

from __future__ import annotations

import argparse
import functools
import json
import shlex
import sys
from pathlib import Path

from storage.cliargs import DEFAULT_DATA_DIR, add_data_dir

BASE_RELEASE_FILE = Path("/opt/alpr/RELEASE")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the provisioning subcommands to `alpr`."""
    _register_provision(sub)
    _register_agency(sub)
    _register_update(sub)
    z = sub.add_parser("zeroize", help="destroy all key material (store and identity unusable)")
    _data_args(z)
    z.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    z.set_defaults(func=_zeroize)


def _data_args(p: argparse.ArgumentParser) -> None:
    add_data_dir(p, default=None,
                 help=f"unit data directory (default: from --config, else {DEFAULT_DATA_DIR})")
    p.add_argument("--config", help="unit config file (gives data_dir and security settings)")


def _register_provision(sub: argparse._SubParsersAction) -> None:
    prov = sub.add_parser("provision", help="give this unit its keys, config and trust anchors")
    ps = prov.add_subparsers(dest="provision_command", required=True)
    init = ps.add_parser("init", help="generate keys, write config, trust anchors, first admin")
    add_data_dir(init)
    init.add_argument("--config", help="config file to write (default DATA_DIR/alpr.toml)")
    init.add_argument("--unit-id", required=True)
    init.add_argument("--serial", required=True)
    init.add_argument("--server-url", required=True, help="agency server, https://...")
    init.add_argument("--server-cert", required=True, help="server TLS certificate to pin")
    init.add_argument("--agency-keys", required=True,
                      help="directory with hotlist.pub, update.pub, server.pub")
    init.add_argument("--agency", default="Agency", help="agency name (shown on the console)")
    init.add_argument("--site", default="unassigned")
    init.add_argument("--admin-user", default="admin")
    init.add_argument("--console-host", action="append", help="console DNS name (repeat)")
    init.add_argument("--console-ip", action="append", help="console IP address (repeat)")
    init.add_argument("--mgmt-net", action="append", help="firewall: management network (repeat)")
    init.add_argument("--server-addr", action="append",
                      help="firewall: agency server address (repeat)")
    init.set_defaults(func=_provision_init)
    enroll = ps.add_parser("enroll", help="install the agency-signed enrolment response")
    enroll.add_argument("response")
    _data_args(enroll)
    enroll.set_defaults(func=_provision_enroll)
    status = ps.add_parser("status", help="show keys, trust anchors and enrolment")
    _data_args(status)
    status.set_defaults(func=_provision_status)


def _register_agency(sub: argparse._SubParsersAction) -> None:
    ag = sub.add_parser("agency", help="agency-side tools: keys, enrolment, signing")
    ags = ag.add_subparsers(dest="agency_command", required=True)
    kg = ags.add_parser("keygen", help="create the agency's hotlist, update and server key pairs")
    kg.add_argument("keys_dir")
    kg.set_defaults(func=_agency_keygen)
    en = ags.add_parser("enroll", help="verify and sign a unit's enrolment request")
    en.add_argument("request")
    en.add_argument("--keys", required=True, help="agency keys directory")
    en.add_argument("--out", required=True, help="enrolment response file to write")
    en.add_argument("--agency", default="Agency")
    en.add_argument("--receiver-db", help="register the unit with this `alpr receiver` database")
    en.set_defaults(func=_agency_enroll)
    sh = ags.add_parser("sign-hotlist", help="validate a hotlist (CSV/JSON) and sign it")
    sh.add_argument("hotlist")
    sh.add_argument("--keys", required=True)
    sh.add_argument("--out", help="signature file (default HOTLIST.sig)")
    sh.set_defaults(func=_agency_sign_hotlist)
    su = ags.add_parser("sign-update", help="bundle and sign a software or model update")
    su.add_argument("source_dir")
    su.add_argument("--keys", required=True)
    su.add_argument("--kind", required=True, choices=("software", "model"))
    su.add_argument("--release", required=True, help="dotted numeric release, e.g. 1.4.2")
    su.add_argument("--out", required=True)
    su.set_defaults(func=_agency_sign_update)


def _register_update(sub: argparse._SubParsersAction) -> None:
    up = sub.add_parser("update", help="verify, apply and roll back signed updates")
    ups = up.add_subparsers(dest="update_command", required=True)
    for name, help_, func in (
            ("verify", "check a bundle's signature and hashes", _update_verify),
            ("apply", "install a bundle; roll back if the health check fails", _update_apply)):
        p = ups.add_parser(name, help=help_)
        p.add_argument("bundle")
        _data_args(p)
        p.set_defaults(func=func)
        if name == "apply":
            p.add_argument("--kind", required=True, choices=("software", "model"))
            p.add_argument("--health-cmd", help="override security.update_health_command")
            p.add_argument("--health-timeout", type=float, help="seconds (default from config)")
            p.add_argument("--base-release",
                           help=f"release built into the image (default {BASE_RELEASE_FILE})")
    for name, help_, func in (
            ("status", "installed releases and history", _update_status),
            ("rollback", "switch back to the previous release", _update_rollback),
            ("recover", "finish an update interrupted before its health check", _update_recover)):
        p = ups.add_parser(name, help=help_)
        _data_args(p)
        p.add_argument("--kind", choices=("software", "model"), default="software")
        p.add_argument("--base-release")
        p.set_defaults(func=func)


def unit_config_toml(sections: dict) -> str:
    """The provisioned config file: validated by the unit's schema (a ConfigError names the
    bad key), rendered as TOML. Injected into `provisioning.provision.provision`."""
    from appliance.config import parse_config, render_config  # noqa: PLC0415
    return render_config(parse_config(sections, "provisioned config"))


# --- helpers ----------------------------------------------------------------------------------

def _context(args: argparse.Namespace):
    """(config, data_dir) from --config / --data-dir."""
    from appliance.config import AlprConfig, load_config  # noqa: PLC0415
    config = load_config(args.config) if getattr(args, "config", None) else AlprConfig()
    data_dir = args.data_dir or (config.unit.data_dir if args.config else DEFAULT_DATA_DIR)
    return config, Path(data_dir)


def _fail(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 1


def _errors():
    from appliance.config import ConfigError  # noqa: PLC0415
    from provisioning.exc import ProvisioningError  # noqa: PLC0415
    return (ProvisioningError, ConfigError, OSError)


def _handled(*extra: type[Exception]):
    """Run a handler; an expected error (``_errors()`` and ``extra``) is one line and status 1."""
    def wrap(func):
        @functools.wraps(func)
        def run(args: argparse.Namespace) -> int:
            try:
                return func(args)
            except (*_errors(), *extra) as exc:
                return _fail(exc)
        return run
    return wrap


def _read_json(path: str, what: str):
    from provisioning import signing  # noqa: PLC0415
    return signing.load_json(Path(path).read_bytes(), f"{what} {path}")


# --- provision --------------------------------------------------------------------------------

@_handled()
def _provision_init(args: argparse.Namespace) -> int:
    from provisioning.provision import ProvisionSpec, provision  # noqa: PLC0415
    spec = ProvisionSpec(
        data_dir=Path(args.data_dir), unit_id=args.unit_id, serial=args.serial,
        server_url=args.server_url, server_cert=Path(args.server_cert),
        agency_keys=Path(args.agency_keys), config_path=Path(args.config) if args.config else None,
        agency=args.agency, site=args.site, admin_user=args.admin_user,
        console_hostnames=tuple(args.console_host or ("localhost",)),
        console_ips=tuple(args.console_ip or ("127.0.0.1",)),
        mgmt_nets=tuple(args.mgmt_net or ()), server_addrs=tuple(args.server_addr or ()))
    result = provision(spec, unit_config_toml)
    print(f"config written:      {result.config_file}")
    print(f"enrolment request:   {result.request_file}  (send it to the agency)")
    print(f"identity:            {result.request['identity_fingerprint']}")
    if result.admin_password:
        print(f"first admin:         {result.admin_user}")
        print(f"one-time password:   {result.admin_password}  (shown once; change at first login)")
    return 0


@_handled()
def _provision_enroll(args: argparse.Namespace) -> int:
    from provisioning import enrol  # noqa: PLC0415
    config, data_dir = _context(args)
    body = enrol.install_response(data_dir, _read_json(args.response, "enrolment response"),
                                  config.security.trust_dir)
    print(f"enrolled {body['unit_id']} with {body['agency']}")
    return 0


@_handled()
def _provision_status(args: argparse.Namespace) -> int:
    from provisioning.provision import provisioning_status  # noqa: PLC0415
    _, data_dir = _context(args)
    print(json.dumps(provisioning_status(data_dir), indent=2))
    return 0


# --- agency -----------------------------------------------------------------------------------

@_handled()
def _agency_keygen(args: argparse.Namespace) -> int:
    from provisioning import agency  # noqa: PLC0415
    prints = agency.keygen(args.keys_dir)
    for name, fp in prints.items():
        print(f"{name:8s} {fp}")
    print(f"give units the .pub files in {args.keys_dir}; keep the .key files offline")
    return 0


@_handled()
def _agency_enroll(args: argparse.Namespace) -> int:
    from provisioning import agency, keys, signing  # noqa: PLC0415
    register = _receiver_register(args.receiver_db) if args.receiver_db else None
    response = agency.enrol_unit(args.keys, _read_json(args.request, "enrolment request"),
                                 args.agency, register)
    keys.write_file_atomic(args.out, signing.dumps(response), mode=0o644)
    print(f"enrolled {response['unit_id']}: response in {args.out}")
    return 0


def _receiver_register(db: str):
    """Register enrolled units in the reference receiver's registry (appliance.uplink)."""
    from appliance.uplink.receiver.db import ReceiverDB  # noqa: PLC0415

    def register(unit_id: str, public_key_pem: str) -> None:
        receiver = ReceiverDB(db)
        try:
            receiver.enroll(unit_id, public_key_pem)
        finally:
            receiver.close()
    return register


@_handled(ValueError)  # HotlistError is a ValueError, like our own input errors
def _agency_sign_hotlist(args: argparse.Namespace) -> int:
    from provisioning import agency  # noqa: PLC0415
    sig, parsed = agency.sign_hotlist(args.keys, args.hotlist, args.out)
    print(f"{parsed.name} version {parsed.version}: {len(parsed.entries)} entries "
          f"({parsed.expired_skipped} expired skipped), signature in {sig}")
    return 0


@_handled()
def _agency_sign_update(args: argparse.Namespace) -> int:
    from provisioning import agency, bundle  # noqa: PLC0415
    key = agency.load_agency_key(args.keys, "update")
    manifest = bundle.build_bundle(args.source_dir, args.out, args.kind, args.release, key)
    print(f"{args.kind} {args.release}: {len(manifest['files'])} files signed into {args.out}")
    return 0


# --- update -----------------------------------------------------------------------------------

def _slot(args: argparse.Namespace, config, data_dir: Path, kind: str):
    from provisioning.update import slot_for  # noqa: PLC0415
    base = args.base_release
    if base is None:
        base = BASE_RELEASE_FILE.read_text().strip() if BASE_RELEASE_FILE.is_file() else "0"
    return slot_for(data_dir, kind, config.security.update_dir, base)


def _health(args: argparse.Namespace, config):
    from provisioning.update import command_health_check  # noqa: PLC0415
    cmd = getattr(args, "health_cmd", None) or config.security.update_health_command
    timeout = getattr(args, "health_timeout", None) or config.security.update_health_timeout_s
    return command_health_check(shlex.split(cmd), timeout)


@_handled()
def _update_verify(args: argparse.Namespace) -> int:
    from provisioning import bundle  # noqa: PLC0415
    config, data_dir = _context(args)
    m = bundle.verify_bundle(args.bundle, data_dir, config.security.trust_dir)
    print(f"OK: {m['kind']} {m['release']}, {len(m['files'])} files, signature and hashes verified")
    return 0


@_handled()
def _update_apply(args: argparse.Namespace) -> int:
    from provisioning import keys  # noqa: PLC0415
    config, data_dir = _context(args)
    key = keys.load_trust_anchor(data_dir, "update", config.security.trust_dir)
    result = _slot(args, config, data_dir, args.kind).apply(args.bundle, key, args.kind,
                                                            _health(args, config))
    print(f"{result.status}: {args.kind} {result.release} "
          f"(previous {result.previous}) {result.detail}")
    return 0 if result.status != "rolled-back" else 2


@_handled()
def _update_status(args: argparse.Namespace) -> int:
    config, data_dir = _context(args)
    slot = _slot(args, config, data_dir, args.kind)
    info = {"kind": args.kind, "installed": slot.installed(), **slot.state()}
    print(json.dumps(info, indent=2))
    return 0


@_handled()
def _update_rollback(args: argparse.Namespace) -> int:
    config, data_dir = _context(args)
    now = _slot(args, config, data_dir, args.kind).rollback()
    print(f"rolled back {args.kind} to {now}")
    return 0


@_handled()
def _update_recover(args: argparse.Namespace) -> int:
    config, data_dir = _context(args)
    result = _slot(args, config, data_dir, args.kind).recover(_health(args, config))
    print("nothing pending" if result is None else f"{result.status}: {result.release}")
    return 0 if result is None or result.status != "rolled-back" else 2


# --- zeroize ----------------------------------------------------------------------------------

def _zeroize(args: argparse.Namespace) -> int:
    from provisioning import zeroize  # noqa: PLC0415
    try:
        config, data_dir = _context(args)
    except _errors() as exc:
        return _fail(exc)
    if not args.yes:
        if not sys.stdin.isatty():
            return _fail(ValueError("refusing to zeroize without --yes when not on a terminal"))
        answer = input(f"Destroy ALL key material in {data_dir}? The store becomes unreadable "
                       "and the unit must be re-provisioned. Type ZEROIZE: ")
        if answer.strip() != "ZEROIZE":
            print("aborted; nothing destroyed")
            return 1
    extra = zeroize.config_key_files(config) if args.config else ()
    try:
        destroyed = zeroize.zeroize(data_dir, reason="operator", extra=extra)
    except OSError as exc:
        return _fail(exc)
    print(f"zeroized: {len(destroyed)} key files destroyed in {data_dir}")
    return 0
