"""The `alpr` command. Each area of the unit registers its own subcommands.

Command modules only build argparse parsers at import; heavy imports (models, TensorFlow,
aiohttp servers) happen inside the handlers, so `alpr --help` stays fast on a Pi.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Each module exposes register(subparsers). Order = order in `alpr --help`.
COMMAND_MODULES = (
    "appliance.commands",  # run, config
    "hw_tests.cli",  # hwtest
    "inference.cli",  # train, eval
    "storage.cli",  # evidence, store
    "appliance.uplink_cli",  # receiver, hotlist
    "webadmin.cli",  # console
    "appliance.provision_cli",  # provision, agency, zeroize, update
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alpr", description="Roadside licence plate reader unit.")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
