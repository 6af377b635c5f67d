"""Verify signed uplink batches: the small library an agency's own ingest can reuse.

Depends only on `cryptography` and `rfc8785` (no other part of the unit), so it can be copied or
imported on its own. The format is documented in docs/uplink.md; in short:

- the *batch* is a JSON object (device id, seq, prev_hash, created, reads, alerts, events,
  access_log, health);
- the *envelope* on the wire is the RFC 8785 canonical JSON of ``{"batch": B, "sig": S}`` where
  ``S`` is the base64 Ed25519 signature over ``canonical(B)``;
- the batch *hash* (what the next batch's ``prev_hash`` names) is the SHA-256 of the envelope bytes.

Every failure raises `VerifyError` with a stable ``code`` so callers can answer precisely.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from dataclasses import dataclass

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "alpr-batch/1"
GENESIS_HASH = "0" * 64
MAX_ENVELOPE_BYTES = 16 * 1024 * 1024
_SECTIONS = ("reads", "alerts", "events", "access_log")
_PREFIX = b'{"batch":'


class VerifyError(ValueError):
    """A batch was refused; ``code`` is stable and machine-readable, ``status`` an HTTP status."""

    def __init__(self, code: str, detail: str, status: int = 400) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = status

    def as_dict(self) -> dict:
        return {"error": self.code, "detail": self.detail}


@dataclass(frozen=True)
class VerifiedBatch:
    """A batch whose signature and structure were checked (chain checked by `check_chain`)."""

    batch: dict
    raw: bytes
    hash: str

    @property
    def device_id(self) -> str:
        return self.batch["device_id"]

    @property
    def seq(self) -> int:
        return self.batch["seq"]

    @property
    def prev_hash(self) -> str:
        return self.batch["prev_hash"]


def canonical(obj: object) -> bytes:
    """RFC 8785 (JCS) canonical JSON bytes of ``obj``."""
    return rfc8785.dumps(obj)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def envelope_bytes(batch_canonical: bytes, signature: bytes) -> bytes:
    """The canonical envelope, built without re-canonicalising the batch ("batch" < "sig")."""
    sig = base64.b64encode(signature).decode("ascii")
    return _PREFIX + batch_canonical + b',"sig":"' + sig.encode("ascii") + b'"}'


def load_public_key(data: bytes | str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM, or from 32 raw bytes given as hex/base64 text."""
    raw = data.encode() if isinstance(data, str) else data
    if raw.lstrip().startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(raw)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    text = raw.strip().decode("ascii", "replace")
    try:
        if len(text) == 64:
            key_bytes = bytes.fromhex(text)
        else:
            key_bytes = base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise ValueError("public key is neither PEM, hex nor base64") from exc
    if len(key_bytes) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return Ed25519PublicKey.from_public_bytes(key_bytes)


def parse_envelope(raw: bytes) -> tuple[dict, bytes, bytes]:
    """Split raw envelope bytes into (batch, canonical batch bytes, signature); check the form."""
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise VerifyError("too_large", f"{len(raw)} bytes > {MAX_ENVELOPE_BYTES}", 413)
    try:
        env = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise VerifyError("malformed", f"not JSON: {exc}") from exc
    if not isinstance(env, dict) or set(env) != {"batch", "sig"}:
        raise VerifyError("malformed", 'envelope must be an object with exactly "batch" and "sig"')
    batch, sig_text = env["batch"], env["sig"]
    if not isinstance(sig_text, str):
        raise VerifyError("malformed", '"sig" must be a base64 string')
    try:
        signature = base64.b64decode(sig_text, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise VerifyError("malformed", '"sig" is not valid base64') from exc
    if len(signature) != 64:
        raise VerifyError("malformed", '"sig" must decode to 64 bytes (Ed25519)')
    check_structure(batch)
    try:
        batch_c = canonical(batch)
    except rfc8785.CanonicalizationError as exc:
        raise VerifyError("malformed", f"not canonicalisable: {exc}") from exc
    if envelope_bytes(batch_c, signature) != raw:
        raise VerifyError("not_canonical", "envelope bytes are not RFC 8785 canonical JSON")
    return batch, batch_c, signature


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def check_structure(batch: object) -> None:
    """The checks of the JSON Schema that matter for safety, without needing jsonschema."""
    if not isinstance(batch, dict):
        raise VerifyError("malformed", '"batch" must be an object')
    required = {"format", "device_id", "seq", "prev_hash", "created", "health", *_SECTIONS}
    missing = sorted(required - set(batch))
    if missing:
        raise VerifyError("malformed", f"batch lacks {', '.join(missing)}")
    extra = sorted(set(batch) - required)
    if extra:
        raise VerifyError("malformed", f"batch has unknown fields {', '.join(extra)}")
    if batch["format"] != FORMAT:
        raise VerifyError("malformed", f"format must be {FORMAT!r}, got {batch['format']!r}")
    dev = batch["device_id"]
    if not isinstance(dev, str) or not 1 <= len(dev) <= 64:
        raise VerifyError("malformed", "device_id must be a string of 1-64 characters")
    seq = batch["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq < 2**53:
        raise VerifyError("malformed", "seq must be an integer >= 1")
    prev = batch["prev_hash"]
    if not isinstance(prev, str) or len(prev) != 64 or prev.strip("0123456789abcdef"):
        raise VerifyError("malformed", "prev_hash must be 64 lowercase hex characters")
    created = batch["created"]
    if (not isinstance(created, int | float) or isinstance(created, bool)
            or not math.isfinite(created)):
        raise VerifyError("malformed", "created must be a number (epoch seconds)")
    if not isinstance(batch["health"], dict):
        raise VerifyError("malformed", "health must be an object")
    for name in _SECTIONS:
        items = batch[name]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise VerifyError("malformed", f"{name} must be a list of objects")
    for i, read in enumerate(batch["reads"]):
        if not isinstance(read.get("read_id"), str) or not isinstance(read.get("plate"), str):
            raise VerifyError("malformed", f"reads[{i}] needs string read_id and plate")
    for i, alert in enumerate(batch["alerts"]):
        if not isinstance(alert.get("alert_id"), str) or alert.get("confirmed", False) is not False:
            raise VerifyError("malformed", f"alerts[{i}] needs alert_id and is never confirmed")


def verify_signature(batch_canonical: bytes, signature: bytes, key: Ed25519PublicKey) -> None:
    try:
        key.verify(signature, batch_canonical)
    except InvalidSignature as exc:
        raise VerifyError("bad_signature", "signature does not verify with the unit's key",
                          403) from exc


def verify_envelope(raw: bytes, key: Ed25519PublicKey,
                    device_id: str | None = None) -> VerifiedBatch:
    """Parse, check structure and signature; ``device_id`` (if given) must match the batch's."""
    batch, batch_c, signature = parse_envelope(raw)
    if device_id is not None and batch["device_id"] != device_id:
        raise VerifyError("device_mismatch",
                          f"batch names device {batch['device_id']!r}, expected {device_id!r}", 403)
    verify_signature(batch_c, signature, key)
    return VerifiedBatch(batch=batch, raw=raw, hash=sha256_hex(raw))


def check_chain(vb: VerifiedBatch, last_seq: int, last_hash: str | None,
                stored_hash: str | None = None) -> str:
    """Place a verified batch on its unit's chain. Returns "new" or "duplicate".

    ``last_seq``/``last_hash``: the newest stored batch of that unit (0/None if none);
    ``stored_hash``: the hash already stored under ``vb.seq`` when ``vb.seq <= last_seq``.
    """
    if vb.seq <= last_seq:
        if stored_hash == vb.hash:
            return "duplicate"
        raise VerifyError("sequence_conflict", f"seq {vb.seq} already stored with different "
                          "content (replayed or forged)", 409)
    if vb.seq != last_seq + 1:
        raise VerifyError("sequence_gap",
                          f"seq {vb.seq} out of order: expected {last_seq + 1}", 409)
    expected_prev = last_hash if last_seq else GENESIS_HASH
    if vb.prev_hash != expected_prev:
        raise VerifyError("chain_broken",
                          f"prev_hash {vb.prev_hash[:16]}... does not match batch {last_seq}", 409)
    return "new"
