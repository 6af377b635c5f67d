"""Signed JSON documents: RFC 8785 canonical JSON, Ed25519, signature carried in the document.

A signed document is a JSON object with a ``signature`` member::

    {..., "signature": {"alg": "Ed25519", "key": "<sha256 of raw public key>", "value": "<b64>"}}

The signature covers the canonical form (RFC 8785) of the object *without* ``signature``, so
any reader can re-canonicalise and verify, whatever whitespace or key order it received.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from provisioning.exc import SignatureError
from provisioning.keys import fingerprint

ALG = "Ed25519"


def canonical(doc: dict[str, Any]) -> bytes:
    """RFC 8785 bytes of ``doc`` (floats are not allowed by convention: use ints/strings)."""
    return rfc8785.dumps(doc)


def sign_document(doc: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """A copy of ``doc`` with its Ed25519 signature (any existing signature is replaced)."""
    body = {k: v for k, v in doc.items() if k != "signature"}
    sig = key.sign(canonical(body))
    return {**body, "signature": {"alg": ALG, "key": fingerprint(key.public_key()),
                                  "value": base64.b64encode(sig).decode("ascii")}}


def verify_document(doc: Any, key: Ed25519PublicKey, what: str = "document") -> dict[str, Any]:
    """Check ``doc``'s signature against ``key``; return the body (``doc`` minus signature)."""
    if not isinstance(doc, dict):
        raise SignatureError(f"{what}: expected a JSON object")
    sig = doc.get("signature")
    if not isinstance(sig, dict) or sig.get("alg") != ALG or not isinstance(sig.get("value"), str):
        raise SignatureError(f"{what}: missing or malformed Ed25519 signature")
    if sig.get("key") != fingerprint(key):
        raise SignatureError(f"{what}: signed by key {str(sig.get('key'))[:16]}…, "
                             f"not the trusted key {fingerprint(key)[:16]}…")
    body = {k: v for k, v in doc.items() if k != "signature"}
    try:
        raw = base64.b64decode(sig["value"], validate=True)
        key.verify(raw, canonical(body))
    except (InvalidSignature, binascii.Error, ValueError):
        raise SignatureError(f"{what}: signature does not verify (altered or forged)") from None
    return body


def load_json(data: bytes | str, what: str) -> Any:
    """Parse JSON with an error naming ``what`` instead of a bare decoder message."""
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SignatureError(f"{what}: not valid JSON ({exc})") from None


def dumps(doc: dict[str, Any]) -> bytes:
    """Human-readable JSON for files; verification re-canonicalises, so layout does not matter."""
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
