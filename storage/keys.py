"""Key material of the store: the device key-encryption key (KEK) and what is derived from it.

The KEK (32 random bytes) lives in a 0600 file under data_dir (`keys/kek.bin`, written by
provisioning) or arrives as a systemd credential (`$CREDENTIALS_DIRECTORY/alpr-kek`). It never
encrypts data itself: it wraps random per-period data keys (AES key wrap, RFC 3394) and, through
HKDF, yields the wrapping key. See docs/storage.md for the whole hierarchy.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from storage.exc import InsecureKeyFileError, KeyFileError, WrongKeyError

logger = logging.getLogger(__name__)

KEK_BYTES = 32
DATA_KEY_BYTES = 32
CREDENTIAL_NAME = "alpr-kek"
CREDENTIAL_PREFIX = "credential:"


def read_secret_file(path: str | os.PathLike, *, what: str = "secret file",
                     size: int | None = None,
                     missing_hint: str = "run `alpr provision init`") -> bytes:
    """Read a secret file (or systemd credential), refusing one group or others could read.

    The one secret-file reader of the project: the store KEK here, and provisioning.keys
    (identity, console TLS key) through it. The mode is checked on the open file, so the file
    checked is the file read. ``size``: the exact length required. ``what`` names the secret in
    errors, ``missing_hint`` says how to create it.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise KeyFileError(f"{path}: {what} is not a regular file")
            if st.st_mode & 0o077:
                raise InsecureKeyFileError(
                    f"{path}: {what} is accessible by group/others (mode "
                    f"{stat.S_IMODE(st.st_mode):04o}); run `chmod 600 {path}`")
            data = fh.read() if size is None else fh.read(size + 1)
    except FileNotFoundError:
        raise KeyFileError(f"{path}: {what} not found (file missing; {missing_hint})") from None
    except IsADirectoryError:
        raise KeyFileError(f"{path}: {what} is not a regular file") from None
    if size is not None and len(data) != size:
        raise KeyFileError(f"{path}: {what} must be {size} bytes, "
                           f"found {len(data) if len(data) <= size else 'more'}")
    return data


def load_kek(path: str | os.PathLike) -> bytes:
    """Read a KEK file, refusing one that group or others could read or that has the wrong size.

    The only KEK loader of the project (provisioning.keys.load_kek delegates here).
    """
    return read_secret_file(path, what="key-encryption key", size=KEK_BYTES,
                            missing_hint="run `alpr provision init`, or the development path "
                                         "ensure_dev_keys")


def credential_path(name: str = CREDENTIAL_NAME) -> Path | None:
    """`$CREDENTIALS_DIRECTORY/name` when systemd passed that credential to the service."""
    base = os.environ.get("CREDENTIALS_DIRECTORY")
    if not base:
        return None
    path = Path(base) / name
    return path if path.exists() else None


def load_kek_credential(name: str = CREDENTIAL_NAME) -> bytes:
    """The KEK from a systemd credential (LoadCredentialEncrypted= in the unit file)."""
    path = credential_path(name)
    if path is None:
        raise KeyFileError(f"systemd credential {name!r} not found "
                           f"(CREDENTIALS_DIRECTORY={os.environ.get('CREDENTIALS_DIRECTORY')!r})")
    return load_kek(path)


def resolve_kek(data_dir: str | os.PathLike, spec: str) -> bytes:
    """Load the KEK named by config `storage.kek_file`: a path under data_dir or 'credential:NAME'.

    A systemd credential named `alpr-kek` wins over a file, so a hardened unit never reads the file.
    """
    if spec.startswith(CREDENTIAL_PREFIX):
        return load_kek_credential(spec[len(CREDENTIAL_PREFIX):])
    if credential_path(CREDENTIAL_NAME) is not None:
        return load_kek_credential(CREDENTIAL_NAME)
    path = Path(spec)
    return load_kek(path if path.is_absolute() else Path(data_dir) / path)


def load_or_create_dev_kek(path: str | os.PathLike) -> bytes:
    """DEVELOPMENT ONLY: load the KEK at `path`, generating a random one (0600) if missing.

    A unit in the field gets its KEK from provisioning; this exists so `make run` works on a
    laptop. It logs a loud warning every time it creates a key.
    """
    path = Path(path)
    if path.exists():
        return load_kek(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    kek = secrets.token_bytes(KEK_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(kek)
        fh.flush()
        os.fsync(fh.fileno())
    logger.warning("!!! DEVELOPMENT KEY: generated a new store key-encryption key at %s. "
                   "A unit in the field must be provisioned (`alpr provision`); anyone with this "
                   "file can read the store. !!!", path)
    return kek


def derive(kek: bytes, label: str) -> bytes:
    """A 32-byte subkey of `kek` for one purpose (HKDF-SHA256, label as info)."""
    if len(kek) != KEK_BYTES:
        raise KeyFileError(f"key-encryption key must be {KEK_BYTES} bytes, got {len(kek)}")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"alpr-store/v1/{label}".encode()).derive(kek)


def new_data_key() -> bytes:
    return secrets.token_bytes(DATA_KEY_BYTES)


def wrap(wrapping_key: bytes, key: bytes) -> bytes:
    return aes_key_wrap(wrapping_key, key)


def unwrap(wrapping_key: bytes, wrapped: bytes) -> bytes:
    try:
        return aes_key_unwrap(wrapping_key, wrapped)
    except InvalidUnwrap:
        raise WrongKeyError("the key-encryption key does not open this store's data keys "
                            "(wrong KEK, or the key table was altered)") from None
