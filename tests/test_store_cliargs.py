"""storage.cliargs: the option groups every package's `alpr` commands share."""

from __future__ import annotations

import argparse

import pytest

from appliance.cli import build_parser
from storage.cliargs import DEFAULT_DATA_DIR, add_data_dir, add_who


def test_who_group_requires_organisation_and_purpose(capsys):
    p = argparse.ArgumentParser()
    add_who(p, case_required=True)
    with pytest.raises(SystemExit):
        p.parse_args(["--organisation", "PD", "--purpose", "x"])  # no --case
    assert "--case" in capsys.readouterr().err
    args = p.parse_args(["--organisation", "PD", "--purpose", "x", "--case", "C-1",
                         "--user", "jones", "--role", "investigator"])
    assert (args.user, args.organisation, args.role, args.purpose, args.case) == (
        "jones", "PD", "investigator", "x", "C-1")
    with pytest.raises(SystemExit):
        p.parse_args(["--case", "C-1", "--purpose", "x"])  # no --organisation


def test_data_dir_default_and_override():
    p = argparse.ArgumentParser()
    add_data_dir(p)
    assert p.parse_args([]).data_dir == DEFAULT_DATA_DIR
    assert p.parse_args(["--data-dir", "/d"]).data_dir == "/d"
    q = argparse.ArgumentParser()
    add_data_dir(q, default=None, help="from config")
    assert q.parse_args([]).data_dir is None


@pytest.mark.parametrize("argv, default", [
    (["store", "stats"], DEFAULT_DATA_DIR),
    (["hold", "list", "--organisation", "PD", "--purpose", "audit"], DEFAULT_DATA_DIR),
    (["provision", "init", "--unit-id", "u", "--serial", "s", "--server-url", "https://a",
      "--server-cert", "c", "--agency-keys", "k"], DEFAULT_DATA_DIR),
    (["provision", "status"], None),  # decided by --config, else DEFAULT_DATA_DIR
    (["hotlist", "show"], DEFAULT_DATA_DIR),
])
def test_alpr_commands_share_the_data_dir_option(argv, default):
    assert build_parser().parse_args(argv).data_dir == default
    assert build_parser().parse_args([*argv, "--data-dir", "/x"]).data_dir == "/x"
