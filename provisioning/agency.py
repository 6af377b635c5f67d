"""Agency-side tools: the agency's signing keys and enrolling units.

An agency keys directory holds three Ed25519 pairs, one per duty, so a leaked hotlist key
cannot sign software: ``hotlist.key`` (hotlists), ``update.key`` (software and model bundles),
``server.key`` (the agency server: enrolments and pull requests), each with its ``.pub``.
Units get only the ``.pub`` files (``alpr provision init --agency-keys DIR`` reads them).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioning import enrol, keys
from provisioning.exc import ProvisioningError
from provisioning.hotlist_format import parse, sig_path_for, sign_envelope

logger = logging.getLogger(__name__)


def keygen(directory: str | os.PathLike) -> dict[str, str]:
    """Create the agency's three key pairs; never overwrites. Returns name -> fingerprint."""
    directory = Path(directory)
    existing = [n for n in keys.TRUST_NAMES if (directory / f"{n}.key").exists()]
    if existing:
        raise ProvisioningError(f"{directory}: agency keys already exist ({', '.join(existing)}); "
                                "refusing to overwrite them")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    prints = {}
    for name in keys.TRUST_NAMES:
        key = Ed25519PrivateKey.generate()
        keys.write_file_atomic(directory / f"{name}.key", keys.private_pem(key))
        keys.write_file_atomic(directory / f"{name}.pub", keys.public_pem(key.public_key()),
                               mode=0o644)
        prints[name] = keys.fingerprint(key.public_key())
    logger.info("agency keys created in %s", directory)
    return prints


def load_agency_key(directory: str | os.PathLike, name: str) -> Ed25519PrivateKey:
    if name not in keys.TRUST_NAMES:
        raise ProvisioningError(f"unknown agency key {name!r}; expected one of {keys.TRUST_NAMES}")
    return keys.load_private_pem(Path(directory) / f"{name}.key")


def enrol_unit(directory: str | os.PathLike, request: Any, agency: str,
               register=None) -> dict[str, Any]:
    """Verify a unit's request, sign its enrolment, and register its key with the receiver.

    ``register(unit_id, public_key_pem)`` adds the unit to the receiver's registry; None skips
    it (the response can still be installed on the unit and the key registered later).
    """
    response = enrol.sign_response(request, load_agency_key(directory, "server"), agency)
    if register is not None:
        register(response["unit_id"], response["identity_public_key"])
    logger.info("enrolled unit %s (serial %s), identity %s…", response["unit_id"],
                response["serial"], response["identity_fingerprint"][:16])
    return response


def sign_hotlist(directory: str | os.PathLike, hotlist: str | os.PathLike,
                 out: str | os.PathLike | None = None) -> tuple[Path, Any]:
    """Validate a hotlist (CSV/JSON, docs/hotlists.md) and write its detached signature.

    The signature is base64 Ed25519 over the file's exact bytes, by the agency hotlist key, in
    ``FILE.sig`` unless ``out`` says otherwise. A list the unit would refuse (a bad row, a
    personal-data column) is refused here, before it is signed. Returns (sig path, parsed list).
    """
    path = Path(hotlist)
    data = path.read_bytes()
    parsed = parse(path.name, data, now=time.time())  # HotlistError lists every bad row
    sig = sign_envelope(data, load_agency_key(directory, "hotlist"))
    sig_path = Path(out) if out else sig_path_for(path)
    keys.write_file_atomic(sig_path, sig, mode=0o644)
    logger.info("signed hotlist %s version %s (%d entries)", path.name, parsed.version,
                len(parsed.entries))
    return sig_path, parsed
