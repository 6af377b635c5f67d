"""`alpr provision init`: give a blank unit its keys, config, trust anchors and first admin.

Every input is validated before anything is written, so a typo never leaves a half-provisioned
unit. Secrets go to 0600 files under ``data_dir/keys`` (or systemd credentials later); the
config only names the server URL and the pinned certificate hash.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from provisioning import enrol, keys, signing
from provisioning.exc import AlreadyProvisioned, InvalidInput, KeyFileError, ProvisioningError
from provisioning.firewall import FIREWALL_FILE, render_firewall

logger = logging.getLogger(__name__)

REQUEST_FILE = "enrolment-request.json"

# Validates the unit's config sections and renders the config file. The schema belongs to the
# unit (appliance.config), which this package must not import, so the caller passes it in
# (`alpr provision init` passes appliance.provision_cli.unit_config_toml); a ValueError from it
# is the technician's input error.
ConfigRenderer = Callable[[dict], str]


@dataclass
class ProvisionSpec:
    """What the technician (or the first-boot unit) supplies."""

    data_dir: Path
    unit_id: str
    serial: str
    server_url: str
    server_cert: Path  # the agency server's TLS certificate (PEM or DER): pinned by SHA-256
    agency_keys: Path  # directory with hotlist.pub, update.pub, server.pub
    config_path: Path | None = None  # default data_dir/alpr.toml
    agency: str = "Agency"
    site: str = "unassigned"
    admin_user: str = "admin"
    console_hostnames: tuple[str, ...] = ("localhost",)
    console_ips: tuple[str, ...] = ("127.0.0.1",)
    mgmt_nets: tuple[str, ...] = ()  # firewall: networks allowed to reach the console
    server_addrs: tuple[str, ...] = ()  # firewall: agency server addresses (uplink, pull)
    extra_config: dict = field(default_factory=dict)

    @property
    def config_file(self) -> Path:
        return self.config_path or self.data_dir / "alpr.toml"


@dataclass(frozen=True)
class ProvisionResult:
    config_file: Path
    request_file: Path
    request: dict
    admin_user: str
    admin_password: str | None  # one-time; shown once, never logged or stored in clear


def _validated_inputs(spec: ProvisionSpec,
                      render_config: ConfigRenderer) -> tuple[dict[str, bytes], str, str, str]:
    """(trust PEMs, cert sha256, config TOML, firewall) or a ProvisioningError naming the input."""
    paths = keys.KeyPaths.of(spec.data_dir)
    if paths.identity_key.exists() or paths.kek.exists():
        raise AlreadyProvisioned(f"{spec.data_dir} is already provisioned; run `alpr zeroize` "
                                "first to re-provision (this destroys the unit's data)")
    leftovers = _leftover_data(spec.data_dir)
    if leftovers and not (paths.keys_dir / "ZEROIZED").exists():
        raise AlreadyProvisioned(f"{spec.data_dir} holds data without keys "
                                 f"({', '.join(p.name for p in leftovers)}); run `alpr zeroize` "
                                 "to wipe it, or point --data-dir at an empty directory")
    url = urlsplit(spec.server_url)
    if url.scheme != "https" or not url.hostname:
        raise InvalidInput(f"server URL {spec.server_url!r}: must be https://host[:port]/...")
    enrol._check_ids(spec.unit_id, spec.serial)
    _check_admin_name(spec.admin_user)
    firewall = render_firewall(spec.mgmt_nets, spec.server_addrs)
    anchors = {}
    for name in keys.TRUST_NAMES:
        pem = keys.read_public(spec.agency_keys / f"{name}.pub")
        keys.parse_public_pem(pem, str(spec.agency_keys / f"{name}.pub"))
        anchors[name] = pem
    try:
        pin = keys.cert_sha256(keys.read_public(spec.server_cert))
    except ValueError as exc:
        raise KeyFileError(f"{spec.server_cert}: not an X.509 certificate ({exc})") from None
    data = {
        "unit": {"unit_id": spec.unit_id, "agency": spec.agency, "site": spec.site,
                 "data_dir": str(spec.data_dir)},
        "uplink": {"enabled": True, "server_url": spec.server_url, "server_cert_sha256": pin},
    }
    if spec.mgmt_nets or spec.server_addrs:
        # reachable from the site's networks; the image's nftables ruleset limits who gets in
        data["console"] = {"host": "0.0.0.0"}  # noqa: S104
    for section, values in spec.extra_config.items():
        data.setdefault(section, {}).update(values)
    try:
        config_text = render_config(data)
    except ValueError as exc:  # the unit's ConfigError names the bad key
        raise InvalidInput(str(exc)) from None
    return anchors, pin, config_text, firewall


def provision(spec: ProvisionSpec, render_config: ConfigRenderer,
              create_admin=None) -> ProvisionResult:
    """Provision the unit; ``render_config(sections) -> TOML`` validates and renders its config
    file, ``create_admin(data_dir, user) -> password`` makes the first admin."""
    anchors, pin, config_text, firewall = _validated_inputs(spec, render_config)
    _clear_zeroized(spec.data_dir)
    spec.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(spec.data_dir, 0o750)  # noqa: S103 (group = the service user's group)
    keys.generate_kek(spec.data_dir)
    keys.generate_identity(spec.data_dir)
    keys.generate_console_tls(spec.data_dir, spec.unit_id, spec.console_hostnames, spec.console_ips)
    for name, pem in anchors.items():
        keys.install_trust_anchor(spec.data_dir, name, pem)
    keys.write_file_atomic(spec.config_file, config_text.encode(), mode=0o640)
    keys.write_file_atomic(spec.data_dir / FIREWALL_FILE, firewall.encode(), mode=0o644)
    request = enrol.build_request(spec.data_dir, spec.unit_id, spec.serial)
    request_file = keys.write_file_atomic(spec.data_dir / REQUEST_FILE, signing.dumps(request),
                                          mode=0o644)
    if create_admin is None:
        password = default_create_admin(spec.data_dir, spec.admin_user, spec.agency)
    else:
        password = create_admin(spec.data_dir, spec.admin_user)
    logger.info("provisioned unit %s (serial %s), server %s pinned %s…; identity %s…",
                spec.unit_id, spec.serial, spec.server_url, pin[:16],
                request["identity_fingerprint"][:16])
    return ProvisionResult(spec.config_file, request_file, request, spec.admin_user, password)


def _leftover_data(data_dir: Path) -> list[Path]:
    """Databases of an earlier unit (store, accounts): unreadable once its keys are gone."""
    return sorted(p for p in data_dir.glob("*.db*") if p.is_file()) if data_dir.is_dir() else []


def _clear_zeroized(data_dir: Path) -> None:
    """After zeroisation: remove the crypto-shredded databases and the marker."""
    marker = keys.KeyPaths.of(data_dir).keys_dir / "ZEROIZED"
    if not marker.exists():
        return
    for path in _leftover_data(data_dir):
        logger.warning("removing %s left by the zeroised unit", path)
        path.unlink()
    marker.unlink()


def _check_admin_name(user: str) -> None:
    from storage.accounts import AccountError, check_username  # noqa: PLC0415
    try:
        check_username(user)
    except AccountError as exc:
        raise InvalidInput(f"admin user {user!r}: {exc}") from None


def default_create_admin(data_dir: Path, user: str, organisation: str = "Agency") -> str:
    """First admin in the console's account store, with a one-time password to change."""
    from storage.accounts import AccountStore, accounts_path, derive_seal_key  # noqa: PLC0415

    store = AccountStore.open(accounts_path(data_dir),
                              seal_key=derive_seal_key(keys.load_kek(data_dir)))
    try:
        if store.has_users(role="admin"):
            raise AlreadyProvisioned(f"{accounts_path(data_dir)} already has an admin")
        return store.create_user(user, "admin", organisation, full_name="First administrator",
                                 one_time_password=True)
    finally:
        store.close()


def provisioning_status(data_dir: str | os.PathLike) -> dict:
    """What is present under ``data_dir``: keys, trust anchors, enrolment."""
    paths = keys.KeyPaths.of(data_dir)
    status = {
        "kek": paths.kek.exists(), "identity": paths.identity_key.exists(),
        "console_tls": paths.console_key.exists() and paths.console_crt.exists(),
        "trust": {n: paths.trust(n).exists() for n in keys.TRUST_NAMES},
        "zeroized": (paths.keys_dir / "ZEROIZED").exists(),
    }
    if status["identity"]:
        status["identity_fingerprint"] = keys.fingerprint(keys.load_identity(data_dir).public_key())
    try:
        enrolment = enrol.load_enrolment(data_dir)
    except (KeyFileError, ProvisioningError) as exc:
        status["enrolment_error"] = str(exc)
        enrolment = None
    status["enrolled"] = enrolment is not None
    if enrolment:
        status["agency"] = enrolment.get("agency")
    return status
