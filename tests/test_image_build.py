"""The OS image recipe: `make -C image-build check` and the generated site firewall file."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from provisioning.exc import InvalidInput
from provisioning.firewall import render_firewall

ROOT = Path(__file__).resolve().parents[1]
RULESET = ROOT / "image-build/stage-alpr/00-alpr/files/etc/nftables.conf"
TOOLS = ("make", "shellcheck", "systemd-analyze", "nft")


def missing_tools():
    return [t for t in TOOLS if shutil.which(t) is None]


@pytest.mark.skipif(bool(missing_tools()), reason=f"tools missing: {missing_tools()}")
def test_make_check_passes(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # check.sh's scratch root goes under tmp_path
    done = subprocess.run(["make", "-C", str(ROOT / "image-build"), "check"],
                          capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "alpr.service exposure 1." in done.stdout or "alpr.service exposure 0." in done.stdout
    assert "image-build check passed" in done.stdout


@pytest.mark.skipif(bool(missing_tools()), reason=f"tools missing: {missing_tools()}")
def test_check_fails_on_weakened_unit(tmp_path):
    """The threshold is enforced: a copy of the recipe with hardening removed must fail."""
    copy = tmp_path / "image-build"
    shutil.copytree(ROOT / "image-build", copy)
    unit = copy / "stage-alpr/00-alpr/files/systemd/alpr.service"
    text = "\n".join(line for line in unit.read_text().splitlines()
                     if not line.startswith(("SystemCallFilter", "CapabilityBoundingSet",
                                             "PrivateUsers", "ProtectSystem", "RestrictAddress")))
    unit.write_text(text + "\n")
    done = subprocess.run(["./check.sh"], cwd=copy, capture_output=True, text=True, timeout=240,
                          env={**os.environ, "TMPDIR": str(tmp_path)})
    assert done.returncode == 1 and "exposure above 2.0" in done.stderr


def test_site_firewall_file(tmp_path):
    text = render_firewall(["10.20.0.0/24", "fd00:20::/64", "192.168.1.7"], ["203.0.113.10"])
    assert "add element inet alpr mgmt4 { 10.20.0.0/24, 192.168.1.7/32 }" in text
    assert "add element inet alpr mgmt6 { fd00:20::/64 }" in text
    assert "add element inet alpr server4 { 203.0.113.10/32 }" in text
    for bad in ("10.0.0.0/24; flush ruleset", "any", "10.0.0.300"):
        with pytest.raises(InvalidInput, match="not an IP"):
            render_firewall([bad], [])
    if shutil.which("nft") is None:
        pytest.skip("nft missing: generated file not checked by the kernel parser")
    combined = tmp_path / "site.nft"
    combined.write_text(RULESET.read_text() + text)
    done = subprocess.run(["nft", "-c", "-f", str(combined)], capture_output=True, text=True)
    if "Operation not permitted" in done.stderr:
        pytest.skip("nft -c needs CAP_NET_ADMIN here")
    assert done.returncode == 0, done.stderr
