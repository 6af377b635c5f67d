"""Evidence packages: a zip of reads, images and the chain of custody, signed by the device key.

Layout: `reads.json`, `images/<read_id>-crop.jpg|-frame.jpg`, `custody.json`, `manifest.json`
(SHA-256 of every other file), `manifest.sig` (raw Ed25519 signature of manifest.json) and
`device.pub` (PEM). Verification recomputes every hash and names each altered, missing or
unexpected file; without a pinned public key it can only prove internal consistency.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from storage.codec import read_meta
from storage.exc import EvidenceError
from storage.types import AccessContext, Hold, ReleaseRequest, StoredRead

FORMAT = "alpr-evidence/1"
MANIFEST, SIGNATURE, PUBKEY = "manifest.json", "manifest.sig", "device.pub"


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def fingerprint(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()


def custody_record(ctx: AccessContext, case: str, recipient: str,
                   request: ReleaseRequest | None, holds: list[Hold], read_ids: list[str],
                   access_seq: int, agency: str | None, now: float) -> dict[str, Any]:
    """Who exported what, when, why, for which case, to whom and under which release request."""
    return {
        "case_number": case, "exported_by": ctx.user, "organisation": ctx.organisation,
        "role": ctx.role, "purpose": ctx.purpose, "exported_utc": _utc(now),
        "exported_at": now, "source": ctx.source, "address": ctx.address,
        "owning_agency": agency, "recipient_agency": recipient,
        "release_request": asdict(request) if request else None,
        "holds": [asdict(h) for h in holds], "read_ids": read_ids,
        "access_log_seq": access_seq,
    }


def build_package(out_path: str | os.PathLike, reads: list[StoredRead], custody: dict,
                  signer: Ed25519PrivateKey) -> Path:
    """Write the package atomically (0600) and return its path."""
    files: dict[str, bytes] = {}
    records = []
    for stored in reads:
        read = stored.read
        record = {**read_meta(read), "stored_wall": stored.stored_wall,
                  "uplinked": stored.uplinked, "hit": stored.hit, "images": {}}
        for kind, data in (("crop", read.crop_jpeg), ("frame", read.frame_jpeg)):
            if data:
                name = f"images/{read.read_id}-{kind}.jpg"
                files[name] = data
                record["images"][kind] = name
        records.append(record)
    files["reads.json"] = _json(records)
    files["custody.json"] = _json(custody)
    pub = signer.public_key()
    manifest = _json({
        "format": FORMAT, "created_utc": custody.get("exported_utc"),
        "case_number": custody.get("case_number"), "device_key_sha256": fingerprint(pub),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    })
    out = Path(out_path)
    tmp = out.with_name(out.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
        zf.writestr(MANIFEST, manifest)
        zf.writestr(SIGNATURE, signer.sign(manifest))
        zf.writestr(PUBKEY, pub.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    os.replace(tmp, out)
    return out


def _json(obj: Any) -> bytes:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False).encode()


@dataclass
class PackageCheck:
    ok: bool
    problems: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)  # files whose content or presence is wrong
    key_pinned: bool = False
    files: int = 0


def verify_package(path: str | os.PathLike,
                   public_key: Ed25519PublicKey | None = None) -> PackageCheck:
    """Check signature and every file hash; never raises for a bad package, reports instead."""
    check = PackageCheck(ok=False, key_pinned=public_key is not None)
    try:
        with zipfile.ZipFile(path) as zf:
            contents = {info.filename: zf.read(info) for info in zf.infolist()}
    except (OSError, zipfile.BadZipFile) as exc:
        check.problems.append(f"cannot read package: {exc}")
        return check
    manifest_bytes = contents.get(MANIFEST)
    if manifest_bytes is None or SIGNATURE not in contents:
        check.problems.append(f"{MANIFEST} or {SIGNATURE} is missing")
        return check
    _check_signature(check, manifest_bytes, contents, public_key)
    try:
        listed = json.loads(manifest_bytes)["files"]
    except (ValueError, KeyError, TypeError):
        check.problems.append(f"{MANIFEST} is not a valid manifest")
        check.altered.append(MANIFEST)
        return check
    for name, digest in listed.items():
        data = contents.get(name)
        if data is None:
            check.problems.append(f"{name}: missing")
            check.altered.append(name)
        elif hashlib.sha256(data).hexdigest() != digest:
            check.problems.append(f"{name}: altered (SHA-256 does not match the manifest)")
            check.altered.append(name)
    for name in sorted(set(contents) - set(listed) - {MANIFEST, SIGNATURE, PUBKEY}):
        check.problems.append(f"{name}: not in the manifest (added)")
        check.altered.append(name)
    check.files = len(listed)
    check.ok = not check.problems
    return check


def _check_signature(check: PackageCheck, manifest: bytes, contents: dict[str, bytes],
                     public_key: Ed25519PublicKey | None) -> None:
    key = public_key
    if key is None:
        try:
            loaded = load_pem_public_key(contents.get(PUBKEY, b""))
        except ValueError:
            loaded = None
        if not isinstance(loaded, Ed25519PublicKey):
            check.problems.append(f"{PUBKEY} is missing or not an Ed25519 key")
            check.altered.append(PUBKEY)
            return
        key = loaded
    try:
        key.verify(contents[SIGNATURE], manifest)
    except InvalidSignature:
        who = "the pinned device key" if public_key else f"the embedded {PUBKEY}"
        check.problems.append(f"{MANIFEST}: signature does not verify with {who}")
        check.altered.append(MANIFEST)


def load_public_key(path: str | os.PathLike) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise EvidenceError(f"{path}: cannot load a public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise EvidenceError(f"{path}: not an Ed25519 public key")
    return key
