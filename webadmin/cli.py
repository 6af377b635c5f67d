"""`alpr console ...`: serve the console alone (development), create the first admin, recover."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to `alpr`."""
    console = sub.add_parser("console", help="the local web console")
    csub = console.add_subparsers(dest="console_command", required=True)

    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", help="config file (default: the embedded default)")
        p.add_argument("--data-dir", help="override [unit].data_dir")
        return p

    serve = common(csub.add_parser("serve", help="serve the console alone (development; "
                                   "`alpr run` serves it with the unit)"))
    serve.add_argument("--port", type=int, help="HTTPS port (default [console].port)")
    serve.add_argument("--host", help="address to bind (default [console].host)")
    serve.set_defaults(func=_serve)
    boot = common(csub.add_parser("bootstrap-admin", help="create the first admin with a "
                                  "one-time password (refused once an admin exists)"))
    boot.add_argument("--username", default="admin")
    boot.add_argument("--organisation", help="default: [unit].agency")
    boot.add_argument("--full-name", default="")
    boot.set_defaults(func=_bootstrap)
    reset = common(csub.add_parser("reset-password", help="give a user a new one-time "
                                   "password and clear their lockout (needs the unit's shell)"))
    reset.add_argument("username")
    reset.set_defaults(func=_reset)
    train = common(csub.add_parser("record-training", help="record a user's training (e.g. the "
                                   "first admin's, who cannot use the console untrained)"))
    train.add_argument("username")
    train.add_argument("--course", required=True)
    train.add_argument("--completed", required=True, help="YYYY-MM-DD")
    train.add_argument("--expires", required=True, help="YYYY-MM-DD")
    train.add_argument("--recorded-by", default="unit shell")
    train.set_defaults(func=_training)
    users = common(csub.add_parser("users", help="list console users and their training"))
    users.set_defaults(func=_users)


def _config(args):
    from appliance.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(1) from None
    if args.data_dir:
        config = config.model_copy(update={"unit": config.unit.model_copy(
            update={"data_dir": str(Path(args.data_dir).resolve())})})
    return config


def read_kek(config, create: bool = False) -> bytes | None:
    """The store KEK (file under data_dir or a systemd credential); optionally a dev one."""
    spec = config.storage.kek_file
    if spec.startswith("credential:"):
        path = Path(os.environ.get("CREDENTIALS_DIRECTORY", "/nonexistent")) / spec[11:]
    else:
        path = Path(config.unit.data_dir) / spec
    if path.exists():  # the project's one loader: mode 0600 and size checked
        from provisioning.keys import load_kek

        return load_kek(config.unit.data_dir, spec)
    if not create:
        return None
    from storage.keys import load_or_create_dev_kek  # loud warning, 0600, fsync

    return load_or_create_dev_kek(path)


def _serve(args) -> int:
    import asyncio

    config = _config(args)
    Path(config.unit.data_dir).mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(_serve_async(config, args.port, args.host))
    except KeyboardInterrupt:
        pass
    return 0


async def _serve_async(config, port, host) -> None:
    import asyncio

    from storage.store import Store
    from webadmin.app import create_app
    from webadmin.server import basic_health, open_accounts, start_console
    from webadmin.settings import ConfigCameraControl

    kek = read_kek(config, create=True)
    s = config.storage
    store = Store.open(Path(config.unit.data_dir) / "store.db", kek,
                       budget_bytes=int(s.budget_mb * 2**20),
                       retention_after_ack_s=s.retention_after_ack_h * 3600,
                       max_retention_s=s.max_retention_days * 86400, period_s=s.period_h * 3600,
                       agency=config.unit.agency, keep_images=s.keep_images)
    accounts = open_accounts(config, kek)
    if not accounts.has_users("admin"):
        logger.warning("no console admin yet: run `alpr console bootstrap-admin` (one-time "
                       "password) or provision the unit")
    app = create_app(config, store=store, accounts=accounts,
                     health_provider=lambda: basic_health(config, store),
                     snapshot_provider=lambda: None,
                     hotlist_status=lambda: {"status": "not loaded in a console-only run"},
                     camera_control=ConfigCameraControl(config))
    runners = await start_console(app, config, port=port, host=host)
    print(f"console: https://{host or config.console.host}:{port or config.console.port}/",
          flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.cleanup()
        accounts.close()
        store.close()


def _accounts(config):
    from webadmin.server import open_accounts

    return open_accounts(config, read_kek(config))


def _bootstrap(args) -> int:
    from storage.accounts import AccountError

    config = _config(args)
    accounts = _accounts(config)
    try:
        if accounts.has_users("admin"):
            print("refused: an admin already exists (use `alpr console reset-password USER` "
                  "on the unit to recover an account)", file=sys.stderr)
            return 1
        password = accounts.create_user(args.username, "admin",
                                        args.organisation or config.unit.agency,
                                        full_name=args.full_name, one_time_password=True)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        accounts.close()
    print(f"admin user: {args.username.lower()}\none-time password: {password}\n"
          "It is shown only now and must be changed at the first sign-in.\n"
          "Record the admin's ALPR training before they can use the console:\n"
          f"  alpr console record-training {args.username.lower()} --course NAME "
          "--completed YYYY-MM-DD --expires YYYY-MM-DD")
    return 0


def _training(args) -> int:
    import datetime as dt

    from storage.accounts import AccountError

    accounts = _accounts(_config(args))
    try:
        accounts.add_training(args.username, args.course, dt.date.fromisoformat(args.completed),
                              dt.date.fromisoformat(args.expires), recorded_by=args.recorded_by)
    except (AccountError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        accounts.close()
    print(f"training recorded for {args.username.lower()}")
    return 0


def _reset(args) -> int:
    from storage.accounts import AccountError

    accounts = _accounts(_config(args))
    try:
        password = accounts.reset_password(args.username)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        accounts.close()
    print(f"one-time password for {args.username.lower()}: {password}\n"
          "It must be changed at the next sign-in.")
    return 0


def _users(args) -> int:
    accounts = _accounts(_config(args))
    try:
        for u in accounts.list_users():
            state = "disabled" if u.disabled else ("one-time password" if u.must_change_password
                                                    else "active")
            trained = "trained" if accounts.is_trained(u.username) else "NOT trained"
            print(f"{u.username:20} {u.role:13} {u.organisation:24} {state:18} {trained}")
    finally:
        accounts.close()
    return 0
