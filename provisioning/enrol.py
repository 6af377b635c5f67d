"""Enrolment: the unit's self-signed request, the agency's signed response, and installing it.

Request (unit → agency), signed by the unit's identity key (proof of possession)::

    {"type": "alpr-enrolment-request", "version": 1, "unit_id", "serial", "created",
     "identity_public_key": PEM, "identity_fingerprint", "console_cert_sha256", "signature"}

Response (agency → unit), signed by the agency *server* key (the unit's ``trust/server.pub``)::

    {"type": "alpr-enrolment", "version": 1, "unit_id", "serial", "identity_public_key",
     "identity_fingerprint", "console_cert_sha256", "agency", "enrolled_at", "signature"}
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from provisioning import keys, signing
from provisioning.exc import EnrolmentError, SignatureError

REQUEST_TYPE = "alpr-enrolment-request"
RESPONSE_TYPE = "alpr-enrolment"
ENROLMENT_FILE = "keys/enrolment.json"
UNIT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SERIAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def build_request(data_dir: str | os.PathLike, unit_id: str, serial: str) -> dict[str, Any]:
    """The enrolment request of the unit whose keys are under ``data_dir``."""
    _check_ids(unit_id, serial)
    identity = keys.load_identity(data_dir)
    cert_path, _ = keys.console_tls_paths(data_dir)
    doc = {
        "type": REQUEST_TYPE, "version": 1, "unit_id": unit_id, "serial": serial,
        "created": int(time.time()),
        "identity_public_key": keys.public_pem(identity.public_key()).decode(),
        "identity_fingerprint": keys.fingerprint(identity.public_key()),
        "console_cert_sha256": keys.cert_sha256(cert_path.read_bytes()),
    }
    return signing.sign_document(doc, identity)


def verify_request(doc: Any) -> tuple[dict[str, Any], Ed25519PublicKey]:
    """Check a request is well formed and signed by the key it carries; return (body, key)."""
    if not isinstance(doc, dict) or doc.get("type") != REQUEST_TYPE or doc.get("version") != 1:
        raise EnrolmentError(f"not an enrolment request (expected type {REQUEST_TYPE!r} v1)")
    for field in ("unit_id", "serial", "identity_public_key", "identity_fingerprint",
                  "console_cert_sha256", "created"):
        if field not in doc:
            raise EnrolmentError(f"enrolment request: missing field {field!r}")
    _check_ids(doc["unit_id"], doc["serial"])
    key = keys.parse_public_pem(doc["identity_public_key"], "enrolment request identity key")
    if keys.fingerprint(key) != doc["identity_fingerprint"]:
        raise EnrolmentError("enrolment request: identity_fingerprint does not match the key")
    try:
        body = signing.verify_document(doc, key, "enrolment request")
    except SignatureError as exc:
        raise EnrolmentError(str(exc)) from None
    return body, key


def sign_response(request: Any, server_key: Ed25519PrivateKey, agency: str) -> dict[str, Any]:
    """Agency side: verify the unit's request and sign its enrolment."""
    body, _ = verify_request(request)
    doc = {k: body[k] for k in ("unit_id", "serial", "identity_public_key",
                                "identity_fingerprint", "console_cert_sha256")}
    doc.update(type=RESPONSE_TYPE, version=1, agency=agency, enrolled_at=int(time.time()))
    return signing.sign_document(doc, server_key)


def install_response(data_dir: str | os.PathLike, response: Any,
                     trust_dir: str = "trust") -> dict[str, Any]:
    """Unit side: verify the agency's response against trust/server.pub and this unit's key."""
    server = keys.load_trust_anchor(data_dir, "server", trust_dir)
    try:
        body = signing.verify_document(response, server, "enrolment response")
    except SignatureError as exc:
        raise EnrolmentError(str(exc)) from None
    if body.get("type") != RESPONSE_TYPE or body.get("version") != 1:
        raise EnrolmentError(f"not an enrolment response (expected type {RESPONSE_TYPE!r})")
    mine = keys.fingerprint(keys.load_identity(data_dir).public_key())
    theirs = str(body.get("identity_fingerprint"))
    if theirs != mine:
        raise EnrolmentError("enrolment response is for another unit's identity key "
                             f"({theirs[:16]}…, this unit {mine[:16]}…)")
    keys.write_file_atomic(Path(data_dir) / ENROLMENT_FILE, signing.dumps(response), mode=0o644)
    return body


def load_enrolment(data_dir: str | os.PathLike, trust_dir: str = "trust") -> dict[str, Any] | None:
    """The installed enrolment (re-verified), or None when the unit is not enrolled yet."""
    path = Path(data_dir) / ENROLMENT_FILE
    if not path.exists():
        return None
    doc = signing.load_json(path.read_bytes(), str(path))
    server = keys.load_trust_anchor(data_dir, "server", trust_dir)
    return signing.verify_document(doc, server, str(path))


def _check_ids(unit_id: Any, serial: Any) -> None:
    if not isinstance(unit_id, str) or not UNIT_ID_RE.match(unit_id):
        raise EnrolmentError(f"unit id {unit_id!r}: use 1-64 of A-Z a-z 0-9 _ . - "
                             "(starting with a letter or digit)")
    if not isinstance(serial, str) or not SERIAL_RE.match(serial):
        raise EnrolmentError(f"serial {serial!r}: use 1-64 of A-Z a-z 0-9 _ . : -")
