"""Signed update bundles (software or models): build, verify, extract.

A bundle is a tar (gzip) archive with ``manifest.json`` and ``payload/<files>``. The manifest
is a signed document (provisioning.signing) by the agency *update* key::

    {"type": "alpr-update", "version": 1, "kind": "software" | "model", "release": "1.4.2",
     "created": 1700000000, "files": {"rel/path": {"sha256": hex, "size": n}}, "signature": ...}

Every payload file must be listed with its hash and size, and nothing else may be in the
archive; only regular files, no absolute paths, no ``..``. Hashes are checked while extracting,
so a tampered file is never left in place.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tarfile
import time
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from provisioning import keys, signing
from provisioning.exc import SignatureError, UpdateError

TYPE = "alpr-update"
KINDS = ("software", "model")
RELEASE_RE = re.compile(r"^\d{1,6}(\.\d{1,6}){0,3}$")
MANIFEST = "manifest.json"
MAX_MANIFEST = 1 << 20
CHUNK = 1 << 16


def release_key(release: str) -> tuple[int, ...]:
    """Dotted numeric release to a comparable tuple ("1.10" > "1.9"); trailing zeros ignored."""
    if not isinstance(release, str) or not RELEASE_RE.match(release):
        raise UpdateError(f"release {release!r}: expected dotted numbers like 1.4.2")
    parts = [int(p) for p in release.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _safe_relpath(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or any(p in ("", ".", "..") for p in path.parts):
        raise UpdateError(f"bundle: unsafe path {name!r}")
    return str(path)


def build_bundle(src_dir: str | os.PathLike, out: str | os.PathLike, kind: str, release: str,
                 key: Ed25519PrivateKey) -> dict[str, Any]:
    """Agency side: sign every regular file under ``src_dir`` into the bundle ``out``."""
    if kind not in KINDS:
        raise UpdateError(f"kind {kind!r}: expected one of {KINDS}")
    release_key(release)
    src = Path(src_dir)
    files = {}
    for path in sorted(src.rglob("*")):
        if path.is_symlink() or (not path.is_file() and not path.is_dir()):
            raise UpdateError(f"{path}: only regular files can be bundled")
        if path.is_file():
            rel = _safe_relpath(path.relative_to(src).as_posix())
            files[rel] = {"sha256": _sha256_file(path), "size": path.stat().st_size}
    if not files:
        raise UpdateError(f"{src}: nothing to bundle")
    manifest = signing.sign_document({"type": TYPE, "version": 1, "kind": kind, "release": release,
                                      "created": int(time.time()), "files": files}, key)
    data = signing.dumps(manifest)
    tmp = Path(out).with_name(f".{Path(out).name}.tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
        tar.addfile(info, io.BytesIO(data))
        for rel in files:
            tar.add(src / rel, arcname=f"payload/{rel}", recursive=False)
    os.replace(tmp, out)
    return manifest


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def open_bundle(path: str | os.PathLike) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:*")
    except (OSError, tarfile.TarError) as exc:
        raise UpdateError(f"{path}: not a readable update bundle ({exc})") from None


def read_manifest(tar: tarfile.TarFile, key: Ed25519PublicKey) -> dict[str, Any]:
    """The verified manifest body; checks the archive holds exactly the listed files."""
    try:
        member = tar.getmember(MANIFEST)
    except KeyError:
        raise UpdateError("bundle: no manifest.json") from None
    if not member.isfile() or member.size > MAX_MANIFEST:
        raise UpdateError("bundle: manifest.json is not a small regular file")
    raw = tar.extractfile(member).read()
    try:
        body = signing.verify_document(signing.load_json(raw, "bundle manifest"), key,
                                       "bundle manifest")
    except SignatureError as exc:
        raise UpdateError(str(exc)) from None
    if body.get("type") != TYPE or body.get("version") != 1 or body.get("kind") not in KINDS:
        raise UpdateError(f"bundle manifest: expected type {TYPE!r} version 1, kind in {KINDS}")
    release_key(body.get("release"))
    files = body.get("files")
    if not isinstance(files, dict) or not files:
        raise UpdateError("bundle manifest: no files listed")
    listed = {f"payload/{_safe_relpath(rel)}" for rel in files}
    for m in tar.getmembers():
        if m.name == MANIFEST or (m.isdir() and m.name.startswith("payload")):
            continue
        if not m.isfile():
            raise UpdateError(f"bundle: {m.name!r} is not a regular file")
        if m.name not in listed:
            raise UpdateError(f"bundle: {m.name!r} is not listed in the signed manifest")
    return body


def extract_payload(tar: tarfile.TarFile, manifest: dict[str, Any], dest: Path) -> None:
    """Extract listed files into ``dest`` (a new directory), checking size and sha256 of each."""
    dest.mkdir(parents=True)
    try:
        for rel, meta in manifest["files"].items():
            try:
                member = tar.getmember(f"payload/{rel}")
            except KeyError:
                raise UpdateError(f"bundle: listed file {rel!r} is missing") from None
            if member.size != meta.get("size"):
                raise UpdateError(f"bundle: {rel!r} size {member.size} "
                                  f"!= manifest {meta.get('size')}")
            _copy_checked(tar.extractfile(member), dest / rel, meta.get("sha256"), rel)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def _copy_checked(src, target: Path, want: Any, rel: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with open(target, "wb") as out:
        for chunk in iter(lambda: src.read(CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != want:
        raise UpdateError(f"bundle: {rel!r} does not match its signed sha256 (tampered)")
    os.chmod(target, 0o644)


def verify_bundle(path: str | os.PathLike, data_dir: str | os.PathLike,
                  trust_dir: str = "trust") -> dict[str, Any]:
    """Check signature and every hash without installing; return the manifest body."""
    key = keys.load_trust_anchor(data_dir, "update", trust_dir)
    with open_bundle(path) as tar:
        manifest = read_manifest(tar, key)
        for rel, meta in manifest["files"].items():
            try:
                member = tar.getmember(f"payload/{rel}")
            except KeyError:
                raise UpdateError(f"bundle: listed file {rel!r} is missing") from None
            digest = hashlib.sha256()
            fh = tar.extractfile(member)
            for chunk in iter(lambda fh=fh: fh.read(CHUNK), b""):
                digest.update(chunk)
            if digest.hexdigest() != meta.get("sha256") or member.size != meta.get("size"):
                raise UpdateError(f"bundle: {rel!r} does not match its signed sha256/size")
    return manifest
