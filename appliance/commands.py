"""`alpr run` and `alpr config ...`."""

from __future__ import annotations

import argparse
import sys

from appliance.config import ConfigError, load_config, render_config


def register(sub: argparse._SubParsersAction) -> None:
    from appliance.run import add_arguments

    run = sub.add_parser("run", help="run the unit (capture, recognition, storage) until SIGTERM",
                         description="Run the unit. An invalid config starts it in safe mode "
                         "(capture off, reason in health). The last stdout line is a JSON summary.")
    add_arguments(run)
    run.set_defaults(func=_run)
    cfg = sub.add_parser("config", help="check or show the configuration")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    check = cfg_sub.add_parser("check", help="validate a config file; exit 1 naming each bad key")
    check.add_argument("file")
    check.set_defaults(func=_config_check)
    show = cfg_sub.add_parser("show",
                              help="print the effective config (embedded default if no file)")
    show.add_argument("file", nargs="?")
    show.set_defaults(func=_config_show)


def _run(args: argparse.Namespace) -> int:
    from appliance.run import run_command

    return run_command(args)


def _config_check(args: argparse.Namespace) -> int:
    try:
        load_config(args.file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{args.file}: OK")
    return 0


def _config_show(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    sys.stdout.write(render_config(config))
    return 0
