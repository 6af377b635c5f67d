"""Zeroisation: destroy every private key so the store and the unit's identity are unusable.

The store's data keys are wrapped by the KEK, so destroying the 32-byte KEK crypto-shreds every
read at once; destroying the identity key means no batch or enrolment can be signed as this unit
again. Each file is overwritten with random bytes, fsynced, then unlinked. On flash media wear
levelling may keep stale copies of the old blocks, which is why the secret that matters is
small and why keys are never written anywhere else (see docs/provisioning.md).

Under systemd the service sees its keys as credentials in a private in-memory directory; those
copies vanish when the service stops, so the daemon exits after a tamper zeroisation.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path

from provisioning import keys

logger = logging.getLogger(__name__)

MARKER = "ZEROIZED"


def _destroy(path: Path) -> bool:
    """Overwrite ``path`` with random bytes, fsync, unlink; False when it was not there."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    try:
        os.chmod(path, 0o600)  # credentials and hand-made files may be read-only
        with open(path, "r+b") as fh:
            fh.write(secrets.token_bytes(max(size, 32)))
            fh.flush()
            os.fsync(fh.fileno())
    finally:
        path.unlink(missing_ok=True)
    keys.fsync_dir(path.parent)
    return True


def key_files(data_dir: str | os.PathLike, extra: tuple[str | os.PathLike, ...] = ()) -> list[Path]:
    """Every file zeroisation destroys: private keys, dev agency keys, enrolment binding."""
    paths = keys.KeyPaths.of(data_dir)
    files = paths.private_files() + [Path(p) for p in extra]
    files += sorted((paths.data_dir / "dev-agency").glob("*.key"))
    files += [paths.identity_pub, paths.keys_dir / "enrolment.json"]
    return files


def zeroize(data_dir: str | os.PathLike, reason: str = "operator",
            extra: tuple[str | os.PathLike, ...] = ()) -> list[Path]:
    """Destroy all key material under ``data_dir`` (plus ``extra``); return what was destroyed.

    Every file is attempted even if one fails; the first error is raised after the rest are gone.
    """
    destroyed, first_error = [], None
    for path in key_files(data_dir, extra):
        try:
            if _destroy(path):
                destroyed.append(path)
        except OSError as exc:
            logger.error("zeroize: could not destroy %s: %s", path, exc)
            first_error = first_error or exc
    marker = keys.KeyPaths.of(data_dir).keys_dir / MARKER
    keys.write_file_atomic(marker, f"zeroized at {int(time.time())} reason={reason}\n".encode(),
                           mode=0o644)
    logger.critical("ZEROIZED (%s): destroyed %d key files in %s", reason, len(destroyed), data_dir)
    if first_error:
        raise first_error
    return destroyed


def is_zeroized(data_dir: str | os.PathLike) -> bool:
    return (keys.KeyPaths.of(data_dir).keys_dir / MARKER).exists()


def config_key_files(config) -> tuple[Path, ...]:
    """Key files a config points at outside the default layout (credentials excluded)."""
    data_dir = config.unit.data_dir
    specs = (config.storage.kek_file, config.console.tls_key)
    return tuple(keys.resolve_spec(data_dir, s) for s in specs if not s.startswith("credential:"))


def on_tamper(config) -> bool:
    """The daemon calls this when the tamper switch opens; True when keys were destroyed.

    Only acts when ``security.zeroize_on_tamper`` is set; the caller logs the tamper event to
    the store *before* calling (the store is unreadable afterwards) and then exits.
    """
    if not config.security.zeroize_on_tamper:
        logger.warning("tamper switch opened; zeroize_on_tamper is off, keys kept")
        return False
    zeroize(config.unit.data_dir, reason="tamper", extra=config_key_files(config))
    return True
