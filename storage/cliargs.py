"""Option groups shared by the `alpr` subcommands of every package.

Here because storage is the lowest package that storage, provisioning, appliance and webadmin
may all import. Only argparse-level code: importing it loads no crypto, no store.
"""

from __future__ import annotations

import argparse
import getpass
import os

DEFAULT_DATA_DIR = os.environ.get("ALPR_DATA_DIR", "/var/lib/alpr")


def add_data_dir(p: argparse.ArgumentParser, *, default: str | None = DEFAULT_DATA_DIR,
                 help: str = "unit data directory (%(default)s)") -> None:
    """``--data-dir``; pass ``default=None`` where another source (a config file) decides."""
    p.add_argument("--data-dir", default=default, help=help)


def add_who(p: argparse.ArgumentParser, *, case_required: bool = False) -> None:
    """Who accesses ALPR data and why (storage.types.AccessContext), as the access log records.

    The user defaults to the login behind sudo; organisation and purpose must be given.
    """
    p.add_argument("--user", default=os.environ.get("SUDO_USER") or getpass.getuser())
    p.add_argument("--organisation", required=True, help="the user's organisation")
    p.add_argument("--role", default="admin")
    p.add_argument("--purpose", required=True, help="why (recorded in the access log)")
    p.add_argument("--case", required=case_required, help="case number")
