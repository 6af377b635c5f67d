"""Shared setup for provisioning tests: an agency, a server certificate, a provisioned unit."""

from pathlib import Path

from appliance.provision_cli import unit_config_toml
from provisioning import agency, keys
from provisioning.provision import ProvisionSpec, provision


def make_agency(tmp_path: Path) -> Path:
    agency_dir = tmp_path / "agency"
    agency.keygen(agency_dir)
    return agency_dir


def make_server_cert(tmp_path: Path) -> Path:
    server_dir = tmp_path / "server"
    keys.generate_console_tls(server_dir, "agency-server", hostnames=("alpr.agency.example",))
    return server_dir / "keys" / "console.crt"


def provision_unit(tmp_path: Path, unit_id: str = "unit-01", create_admin=None, **extra):
    agency_dir = tmp_path / "agency"
    if not agency_dir.exists():
        make_agency(tmp_path)
    spec = ProvisionSpec(
        data_dir=tmp_path / f"data-{unit_id}", unit_id=unit_id, serial=f"SN-{unit_id}",
        server_url="https://alpr.agency.example:8443/", server_cert=make_server_cert(tmp_path),
        agency_keys=agency_dir, agency="Test County Sheriff", **extra)
    return spec, provision(spec, unit_config_toml,
                           create_admin=create_admin or (lambda d, u: "one-time-pw"))
