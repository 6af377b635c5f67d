"""Installing signed updates: versions/ + an atomically swapped ``current`` symlink + rollback.

Layout under ``root`` (``data_dir/updates/<kind>``)::

    versions/<release>/...   extracted, hash-checked payloads
    current -> versions/<release>      (absent = the image's built-in release)
    previous -> versions/<release>
    state.json               installed / pending / failed releases, history

Applying: verify → extract → record ``pending`` → swap ``current`` (os.replace of a symlink,
atomic on POSIX) → health check with a timeout → confirm, or swap back and mark the release
failed. A power cut between swap and verdict leaves ``pending`` set; ``recover`` (run at boot)
finishes the health check and rolls back if it fails.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioning import bundle, keys
from provisioning.exc import UpdateError

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], bool]


@dataclass(frozen=True)
class UpdateResult:
    status: str  # "installed" | "rolled-back" | "already-installed"
    release: str
    previous: str
    detail: str = ""


def command_health_check(cmd: Sequence[str], timeout_s: float) -> HealthCheck:
    """A health check that passes when ``cmd`` exits 0 within ``timeout_s``."""
    def check() -> bool:
        try:
            done = subprocess.run(list(cmd), timeout=timeout_s, capture_output=True, check=False)
        except subprocess.TimeoutExpired:
            logger.error("health check %s timed out after %.0f s", cmd[0], timeout_s)
            return False
        except OSError as exc:
            logger.error("health check %s could not run: %s", cmd[0], exc)
            return False
        if done.returncode != 0:
            logger.error("health check %s failed (exit %d): %s", cmd[0], done.returncode,
                         done.stderr.decode(errors="replace")[-500:])
        return done.returncode == 0
    return check


class UpdateSlot:
    """One kind of update (software or model) under ``root``."""

    def __init__(self, root: str | os.PathLike, base_release: str = "0"):
        self.root = Path(root)
        self.base_release = base_release
        self.versions = self.root / "versions"
        self.current = self.root / "current"
        self.previous = self.root / "previous"
        self.state_file = self.root / "state.json"

    # --- state ---------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        try:
            return json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return {"failed": [], "history": [], "pending": None}
        except (ValueError, OSError) as exc:
            raise UpdateError(f"{self.state_file}: unreadable update state ({exc})") from None

    def _save(self, state: dict[str, Any]) -> None:
        keys.write_file_atomic(self.state_file, json.dumps(state, indent=2).encode(), mode=0o644)

    @staticmethod
    def _log(state: dict[str, Any], release: str, result: str) -> None:
        state["history"].append({"release": release, "result": result, "at": int(time.time())})

    def installed(self) -> str:
        return self._target(self.current) or self.base_release

    def _target(self, link: Path) -> str | None:
        return Path(os.readlink(link)).name if link.is_symlink() else None

    def _point(self, link: Path, release: str | None) -> None:
        """Atomically make ``link`` point at versions/<release> (None removes it)."""
        builtin = release == self.base_release and not (self.versions / release).exists()
        if release is None or builtin:
            link.unlink(missing_ok=True)
        else:
            tmp = link.with_name(f".{link.name}.new")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(Path("versions") / release)
            os.replace(tmp, link)
        keys.fsync_dir(self.root)

    # --- apply / rollback -----------------------------------------------------------------
    def apply(self, bundle_path: str | os.PathLike, update_key, kind: str,
              health_check: HealthCheck) -> UpdateResult:
        """Verify and install a bundle, then keep it only if ``health_check()`` passes."""
        self.versions.mkdir(parents=True, exist_ok=True)
        self._clean_temp()
        if self.state().get("pending"):
            raise UpdateError("an earlier update is still pending its health check; "
                              "run `alpr update recover` first")
        installed = self.installed()
        with bundle.open_bundle(bundle_path) as tar:
            manifest = bundle.read_manifest(tar, update_key)
            release = manifest["release"]
            if manifest["kind"] != kind:
                raise UpdateError(f"bundle is a {manifest['kind']} update, not {kind}")
            if bundle.release_key(release) < bundle.release_key(installed):
                raise UpdateError(f"bundle release {release} is older than installed {installed}; "
                                  "downgrades are refused")
            if bundle.release_key(release) == bundle.release_key(installed):
                return UpdateResult("already-installed", release, installed)
            tmp = self.versions / f".{release}.tmp-{os.getpid()}"
            bundle.extract_payload(tar, manifest, tmp)
        final = self.versions / release
        if final.exists():  # a release that failed before: reinstall from the fresh copy
            shutil.rmtree(final)
        os.replace(tmp, final)
        keys.fsync_dir(self.versions)
        state = self.state()
        state["pending"] = {"release": release, "previous": installed, "since": int(time.time())}
        self._save(state)
        self._point(self.previous, installed)
        self._point(self.current, release)
        logger.warning("%s update %s switched in (was %s); running health check", kind, release,
                       installed)
        return self._verdict(health_check)

    def recover(self, health_check: HealthCheck) -> UpdateResult | None:
        """Finish an update interrupted between switch and verdict (call at boot)."""
        return self._verdict(health_check) if self.state().get("pending") else None

    def _verdict(self, health_check: HealthCheck) -> UpdateResult:
        state = self.state()
        pending = state["pending"]
        try:
            healthy = bool(health_check())
        except Exception:  # a crashing check is a failed check, never a kept update
            logger.exception("health check raised")
            healthy = False
        release, previous = pending["release"], pending["previous"]
        if healthy:
            self._log(state, release, "installed")
            state["pending"] = None
            self._save(state)
            self._prune(keep={release, previous})
            logger.warning("update %s passed its health check", release)
            return UpdateResult("installed", release, previous)
        self._point(self.current, previous)
        state["failed"] = sorted(set(state["failed"]) | {release})
        self._log(state, release, "rolled-back")
        state["pending"] = None
        self._save(state)
        logger.error("update %s failed its health check; rolled back to %s", release, previous)
        return UpdateResult("rolled-back", release, previous, "health check failed")

    def rollback(self) -> str:
        """Manual rollback to ``previous``; returns the release now current."""
        previous = self._target(self.previous) or self.base_release
        current = self.installed()
        if previous == current:
            raise UpdateError("nothing to roll back to")
        self._point(self.current, previous)
        self._point(self.previous, None)
        state = self.state()
        self._log(state, current, "manual-rollback")
        self._save(state)
        return previous

    def _clean_temp(self) -> None:
        for tmp in self.versions.glob(".*.tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)

    def _prune(self, keep: set[str]) -> None:
        for path in self.versions.iterdir():
            if path.name not in keep and not path.name.startswith("."):
                shutil.rmtree(path, ignore_errors=True)


def slot_for(data_dir: str | os.PathLike, kind: str, update_dir: str = "updates",
             base_release: str = "0") -> UpdateSlot:
    if kind not in bundle.KINDS:
        raise UpdateError(f"kind {kind!r}: expected one of {bundle.KINDS}")
    return UpdateSlot(Path(data_dir) / update_dir / kind, base_release)
