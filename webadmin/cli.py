"""Subcommands of this package (scaffold: filled in by the package's issue)."""

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to `alpr`."""
