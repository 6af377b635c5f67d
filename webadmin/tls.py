"""The console's TLS context: the unit's certificate, or a loudly logged self-signed one."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

logger = logging.getLogger(__name__)


class TlsError(RuntimeError):
    """The console certificate is missing or unusable."""


def generate_self_signed(cert_path: Path, key_path: Path, common_name: str) -> None:
    """Development only: an ECDSA P-256 self-signed certificate for localhost, valid 1 year."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName([
        x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1"))])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(san, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def server_context(data_dir: str | Path, console_config, unit_id: str) -> ssl.SSLContext:
    """TLS 1.2+ server context from the unit's console certificate."""
    cert = Path(data_dir) / console_config.tls_cert
    key = Path(data_dir) / console_config.tls_key
    if not (cert.exists() and key.exists()):
        if not console_config.self_signed_if_missing:
            raise TlsError(f"console certificate {cert} or key {key} is missing; provision the "
                           "unit or set [console].self_signed_if_missing for development")
        logger.warning("!!! DEVELOPMENT: no console certificate; generating a SELF-SIGNED one at "
                       "%s. Browsers will warn. Provision the unit for a real certificate. !!!",
                       cert)
        generate_self_signed(cert, key, f"{unit_id} console (self-signed)")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        raise TlsError(f"cannot load console certificate {cert}: {exc}") from None
    return ctx
