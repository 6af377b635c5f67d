"""Key files on disk: the unit's identity, console TLS, store KEK and the agency trust anchors.

Layout under ``data_dir`` (docs/interfaces.md "Keys on disk"):

- ``keys/kek.bin`` 32 random bytes, ``keys/identity.key`` Ed25519 (PEM PKCS8) + ``identity.pub``,
  ``keys/console.key`` (ECDSA P-256, browsers do not take Ed25519) + ``keys/console.crt``;
- ``trust/{hotlist,update,server}.pub`` agency Ed25519 public keys (PEM).

Private files are written atomically with mode 0600 and refused when group/world readable.
Under systemd each secret may come from a credential (``LoadCredential=``): when
``$CREDENTIALS_DIRECTORY/<name>`` exists it wins over the file under ``data_dir``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import ipaddress
import logging
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID

from provisioning.exc import InsecureKeyFile, KeyFileError
from storage import exc as store_exc
from storage import keys as store_keys

logger = logging.getLogger(__name__)

KEK_BYTES = 32
TRUST_NAMES = ("hotlist", "update", "server")
# systemd credential names (image-build/files/alpr.service LoadCredential=)
CRED_KEK = "alpr-kek"
CRED_IDENTITY = "alpr-identity"
CRED_CONSOLE_KEY = "alpr-console-key"
CRED_CONSOLE_CRT = "alpr-console-crt"


@dataclass(frozen=True)
class KeyPaths:
    """Where each key lives under one data directory."""

    data_dir: Path

    @classmethod
    def of(cls, data_dir: str | os.PathLike) -> KeyPaths:
        return cls(Path(data_dir))

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def kek(self) -> Path:
        return self.keys_dir / "kek.bin"

    @property
    def identity_key(self) -> Path:
        return self.keys_dir / "identity.key"

    @property
    def identity_pub(self) -> Path:
        return self.keys_dir / "identity.pub"

    @property
    def console_key(self) -> Path:
        return self.keys_dir / "console.key"

    @property
    def console_crt(self) -> Path:
        return self.keys_dir / "console.crt"

    def trust_dir(self, trust_dir: str = "trust") -> Path:
        return self.data_dir / trust_dir

    def trust(self, name: str, trust_dir: str = "trust") -> Path:
        if name not in TRUST_NAMES:
            raise KeyFileError(f"unknown trust anchor {name!r}; expected one of {TRUST_NAMES}")
        return self.trust_dir(trust_dir) / f"{name}.pub"

    def private_files(self) -> list[Path]:
        return [self.kek, self.identity_key, self.console_key]


# --- atomic, permission-checked file I/O -------------------------------------------------------

def write_file_atomic(path: str | os.PathLike, data: bytes, mode: int = 0o600) -> Path:
    """Write ``data`` to ``path`` via a same-directory temp file, fsync and rename.

    The temp file has ``mode`` before any byte is written, so a secret is never briefly public;
    a power cut leaves either the old file or the new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def fsync_dir(directory: str | os.PathLike) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_private(path: str | os.PathLike) -> bytes:
    """Read a secret file; refuse it when group or others may read it.

    storage.keys.read_secret_file does the work (storage may not import provisioning); its
    errors are raised as provisioning's.
    """
    with _provisioning_errors():
        return store_keys.read_secret_file(path, what="private key file")


@contextlib.contextmanager
def _provisioning_errors():
    """Re-raise storage's key-file errors as provisioning's, same message."""
    try:
        yield
    except store_exc.InsecureKeyFileError as exc:
        raise InsecureKeyFile(str(exc)) from None
    except store_exc.KeyFileError as exc:
        raise KeyFileError(str(exc)) from None


def read_public(path: str | os.PathLike) -> bytes:
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: file is missing (run `alpr provision init`)") from None


def credential_path(name: str) -> Path | None:
    """``$CREDENTIALS_DIRECTORY/name`` when systemd passed that credential, else None."""
    return store_keys.credential_path(name)


def _source(default: Path, credential: str) -> Path:
    return credential_path(credential) or default


def resolve_spec(data_dir: str | os.PathLike, spec: str) -> Path:
    """A config key path: ``credential:NAME`` (systemd credential) or relative to ``data_dir``."""
    if spec.startswith("credential:"):
        name = spec.split(":", 1)[1]
        path = credential_path(name)
        if path is None:
            raise KeyFileError(f"systemd credential {name!r} not found "
                               f"(CREDENTIALS_DIRECTORY={os.environ.get('CREDENTIALS_DIRECTORY')!r})")
        return path
    return Path(data_dir) / spec


# --- store key-encryption key -----------------------------------------------------------------

def generate_kek(data_dir: str | os.PathLike) -> Path:
    return write_file_atomic(KeyPaths.of(data_dir).kek, secrets.token_bytes(KEK_BYTES))


def load_kek(data_dir: str | os.PathLike, spec: str | None = None) -> bytes:
    """The store KEK: ``credential:NAME`` if ``spec`` says so, else the ``alpr-kek`` credential
    when systemd passed one, else the file ``spec`` (config storage.kek_file) or keys/kek.bin.

    One loader for the whole project: storage.keys.resolve_kek (the store takes bytes and
    cannot import provisioning); its errors are raised as provisioning's.
    """
    with _provisioning_errors():
        return store_keys.resolve_kek(data_dir, spec or "keys/kek.bin")


# --- unit identity (Ed25519) ------------------------------------------------------------------

def generate_identity(data_dir: str | os.PathLike) -> Ed25519PrivateKey:
    paths = KeyPaths.of(data_dir)
    key = Ed25519PrivateKey.generate()
    write_file_atomic(paths.identity_key, private_pem(key))
    write_file_atomic(paths.identity_pub, public_pem(key.public_key()), mode=0o644)
    return key


def load_identity(data_dir: str | os.PathLike) -> Ed25519PrivateKey:
    path = _source(KeyPaths.of(data_dir).identity_key, CRED_IDENTITY)
    return load_private_pem(path)


def load_private_pem(path: str | os.PathLike) -> Ed25519PrivateKey:
    """An Ed25519 private key from a 0600 PEM (PKCS8) file."""
    data = read_private(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not a PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: expected an Ed25519 key, found {type(key).__name__}")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def private_pem(key) -> bytes:
    """PKCS8 PEM, unencrypted: the file's 0600 mode (or the credential) protects it."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def parse_public_pem(data: bytes | str, what: str = "public key") -> Ed25519PublicKey:
    if isinstance(data, str):
        data = data.encode()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{what}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{what}: expected an Ed25519 key, found {type(key).__name__}")
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 (hex) of the raw 32-byte public key: short, stable, printable for humans."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


# --- console TLS (ECDSA P-256, self-signed) ---------------------------------------------------

def generate_console_tls(data_dir: str | os.PathLike, common_name: str,
                         hostnames: tuple[str, ...] = ("localhost",),
                         ips: tuple[str, ...] = ("127.0.0.1",),
                         days: int = 3650) -> x509.Certificate:
    """Create the console key and a self-signed certificate for ``hostnames`` and ``ips``."""
    paths = KeyPaths.of(data_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    alt = [x509.DNSName(h) for h in hostnames]
    alt += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    server_auth = x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(server_auth, critical=False)
        .sign(key, hashes.SHA256())
    )
    write_file_atomic(paths.console_key, private_pem(key))
    write_file_atomic(paths.console_crt, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return cert


def console_tls_paths(data_dir: str | os.PathLike, cert: str = "keys/console.crt",
                      key: str = "keys/console.key") -> tuple[Path, Path]:
    """(certificate, key) paths for ``ssl.load_cert_chain``; credentials win; the key is checked."""
    cert_path = credential_path(CRED_CONSOLE_CRT) or resolve_spec(data_dir, cert)
    key_path = credential_path(CRED_CONSOLE_KEY) or resolve_spec(data_dir, key)
    read_private(key_path)  # permission and presence check with a clear error
    if not cert_path.is_file():
        raise KeyFileError(f"{cert_path}: console certificate is missing "
                           "(run `alpr provision init`)")
    return cert_path, key_path


def cert_sha256(cert_pem_or_der: bytes) -> str:
    """SHA-256 (hex) of a certificate's DER: the value pinned in uplink.server_cert_sha256."""
    if cert_pem_or_der.lstrip().startswith(b"-----BEGIN"):
        cert = x509.load_pem_x509_certificate(cert_pem_or_der)
    else:
        cert = x509.load_der_x509_certificate(cert_pem_or_der)
    return cert.fingerprint(hashes.SHA256()).hex()


# --- agency trust anchors ---------------------------------------------------------------------

def install_trust_anchor(data_dir: str | os.PathLike, name: str, pem: bytes,
                         trust_dir: str = "trust") -> Path:
    """Validate and install one agency public key (hotlist, update or server)."""
    parse_public_pem(pem, f"trust anchor {name}")
    return write_file_atomic(KeyPaths.of(data_dir).trust(name, trust_dir), pem, mode=0o644)


def load_trust_anchor(data_dir: str | os.PathLike, name: str,
                      trust_dir: str = "trust") -> Ed25519PublicKey:
    path = KeyPaths.of(data_dir).trust(name, trust_dir)
    return parse_public_pem(read_public(path), str(path))


# --- development ------------------------------------------------------------------------------

def ensure_dev_keys(data_dir: str | os.PathLike, unit_id: str = "dev-unit") -> list[Path]:
    """Create any missing key for development, loudly. Never used by a provisioned unit.

    Trust anchors are generated too (private halves under ``dev-agency/``), so a laptop can
    sign its own hotlists and updates; a real unit only ever trusts the agency's keys.
    """
    paths = KeyPaths.of(data_dir)
    created: list[Path] = []
    if not paths.kek.exists():
        created.append(generate_kek(data_dir))
    if not paths.identity_key.exists():
        generate_identity(data_dir)
        created.append(paths.identity_key)
    if not paths.console_key.exists() or not paths.console_crt.exists():
        generate_console_tls(data_dir, unit_id)
        created.append(paths.console_key)
    for name in TRUST_NAMES:
        if not paths.trust(name).exists():
            agency_key = paths.data_dir / "dev-agency" / f"{name}.key"
            key = Ed25519PrivateKey.generate()
            write_file_atomic(agency_key, private_pem(key))
            install_trust_anchor(data_dir, name, public_pem(key.public_key()))
            created.append(paths.trust(name))
    if created:
        logger.warning("DEVELOPMENT KEYS generated in %s (%s): this unit is NOT provisioned; "
                       "never deploy it. Use `alpr provision init` for a real unit.",
                       paths.data_dir, ", ".join(p.name for p in created))
    return created
