"""The daemon's long-lived services, built from the config: keys, the encrypted store (read sink,
security-event log, periodic maintenance), the uplink (hotlists, push) and the local console.

`compose()` fills a `UnitParts` with them. The unit stops its services in reverse order after the
capture loop has delivered its last read, so the order here is the shutdown order backwards:
store (closed last) → console → uplink (stopped first, after a bounded last push). See docs/unit.md.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from pathlib import Path
from typing import Any

from provisioning import keys

logger = logging.getLogger(__name__)

MAINTENANCE_S = 300.0  # budget/retention sweep period
FINAL_PUSH_S = 10.0  # the uplink's last chance at shutdown


def load_unit_kek(config: Any, data_dir: Path) -> tuple[bytes, bool]:
    """The store KEK and whether development keys were just generated.

    Development keys are made only when nothing at all is provisioned (no keys/ directory, no
    systemd credential, the default key path): a half-provisioned unit is an error, never
    silently "fixed".
    """
    spec = config.storage.kek_file
    paths = keys.KeyPaths.of(data_dir)
    provisioned = (paths.keys_dir.exists() or spec.startswith("credential:")
                   or keys.credential_path(keys.CRED_KEK) is not None)
    created = False
    if not provisioned and spec == "keys/kek.bin":
        logger.warning("!!! NO KEYS under %s: generating DEVELOPMENT keys. This unit is not "
                       "provisioned; never deploy it (use `alpr provision init`). !!!", data_dir)
        keys.ensure_dev_keys(data_dir, config.unit.unit_id)
        created = True
    return keys.load_kek(data_dir, spec), created


def open_store(config: Any, data_dir: Path, kek: bytes):
    from storage.store import Store

    s = config.storage
    paths = keys.KeyPaths.of(data_dir)
    signer = keys.load_identity(data_dir) if paths.identity_key.exists() else None
    return Store.open(data_dir / "store.db", kek, budget_bytes=int(s.budget_mb * 2**20),
                      retention_after_ack_s=s.retention_after_ack_h * 3600,
                      max_retention_s=s.max_retention_days * 86400, period_s=s.period_h * 3600,
                      signer=signer, agency=config.unit.agency, keep_images=s.keep_images,
                      synchronous=s.synchronous)


class StoreSink:
    """ReadSink: the read is durable in the store, then the uplink checks it (hotlists → alert).

    Writes go through a GroupWriter: reads handed over together (handle_many) or by several
    threads at once share one transaction; each call returns once its reads are committed.
    """

    def __init__(self, store: Any, on_read: Any = None, keep: int = 1000):
        from storage.writer import GroupWriter

        self.store, self.on_read = store, on_read
        self.writer = GroupWriter(store)
        self.count = 0
        self.recent: deque[str] = deque(maxlen=keep)  # in memory only, for the run summary
        self._lock = threading.Lock()  # the loop's workers deliver concurrently

    def handle(self, read: Any) -> None:
        self.handle_many([read])

    def handle_many(self, reads: list) -> None:
        """Store all of `reads` (durable on return; raises → none stored, the loop retries)."""
        from storage.exc import DuplicateError

        try:
            self.writer.add(reads)
        except DuplicateError:  # a retry after a commit whose caller saw an error: skip those
            for read in reads:
                try:
                    self.writer.add(read)
                except DuplicateError:
                    logger.warning("read %s was already stored", read.read_id)
        with self._lock:
            self.count += len(reads)
            self.recent.extend(r.plate for r in reads)
        for read in reads:
            if self.on_read is not None:
                try:  # the read is stored: a hotlist failure must not make the loop store it twice
                    self.on_read(read)
                except Exception:
                    logger.exception("hotlist check failed for read %s", read.read_id)

    def plates(self) -> list[str]:
        with self._lock:
            return list(self.recent)


class SecurityEvents:
    """Event sink of the unit: every event into the store's access log; tamper may zeroize."""

    def __init__(self, config: Any, store: Any, request_stop: Any = None):
        self.config, self.store, self.request_stop = config, store, request_stop

    def __call__(self, kind: str, detail: dict) -> None:
        try:
            self.store.log_event(kind, detail)
        except Exception:
            logger.exception("could not log security event %s", kind)
        if kind == "tamper":
            from provisioning.zeroize import on_tamper

            if on_tamper(self.config) and self.request_stop is not None:
                logger.critical("keys destroyed after tamper: stopping the unit")
                self.request_stop()


class StoreService:
    """Owns the store (and the account store): periodic maintenance; closed last."""

    name = "store"

    def __init__(self, store: Any, *, closing: tuple = (), every_s: float = MAINTENANCE_S,
                 access_log_keep_s: float = 0.0):
        self.store, self.closing, self.every_s = store, closing, every_s
        self.access_log_keep_s = access_log_keep_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sweeps = 0

    def start(self, unit: Any) -> None:
        self._thread = threading.Thread(target=self._run, name="store-maintenance", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self.sweep()
            if self._stop.wait(self.every_s):
                return

    def sweep(self) -> None:
        try:
            evicted, purged = self.store.enforce_budget(), self.store.purge_expired()
            self.store.prune_access_log(self.access_log_keep_s)
            self.sweeps += 1
            if any(evicted.values()) or purged:
                logger.info("store maintenance: evicted %s, purged %s", evicted, purged)
        except Exception:
            logger.exception("store maintenance failed")

    def health(self) -> dict:
        return self.store.stats()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        for part in (*self.closing, self.store):
            try:
                part.close()
            except Exception:
                logger.exception("closing %r failed", part)


class UplinkRunner:
    """Runs `UplinkService.run` on its own event loop; at stop, one bounded last push."""

    name = "uplink"

    def __init__(self, uplink: Any, health: HealthRef | None = None, *,
                 final_s: float = FINAL_PUSH_S):
        self.uplink, self.health_ref, self.final_s = uplink, health, final_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self, unit: Any) -> None:
        if self.health_ref is not None:
            self.health_ref.unit = unit
        self._loop, self._stop = asyncio.new_event_loop(), asyncio.Event()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),),
                                        name="uplink", daemon=True)
        self._thread.start()

    async def _main(self) -> None:
        try:
            await self.uplink.run(self._stop)
        except Exception:
            logger.exception("uplink stopped on an error")
        if self.uplink.pusher is not None and self.final_s > 0:
            try:
                sent = await asyncio.wait_for(self._final_push(), self.final_s)
                logger.info("uplink: %d batch(es) pushed at shutdown", sent)
            except Exception as exc:  # the outbox keeps them for the next start
                logger.warning("uplink: last push at shutdown failed (%s); records stay queued",
                               exc or type(exc).__name__)

    async def _final_push(self) -> int:
        import aiohttp

        p = self.uplink.pusher
        connector = aiohttp.TCPConnector(ssl=p.fingerprint, limit=1)
        async with aiohttp.ClientSession(connector=connector, timeout=p.timeout) as session:
            return await p.push_pending(session)

    def health(self) -> dict:
        return self.uplink.status()

    def stop(self) -> None:
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(self.final_s + 30)
        if self._thread.is_alive():
            logger.error("uplink thread did not stop")
            return
        self._loop.close()
        self._loop = None


class HealthRef:
    """The unit's health for the uplink's batches (the unit exists only after compose)."""

    unit: Any = None

    def __call__(self) -> dict:
        if self.unit is None:
            return {}
        h = self.unit.health()
        return {k: h.get(k) for k in ("status", "safe_mode", "cpu_temp_c", "disk", "uptime_s")}


def compose(config: Any, data_dir: Path, parts: Any, *, console_port: int | None = None,
            request_stop: Any = None) -> str | None:
    """Fill `parts` (sink, event sink, services) from the config; the safe-mode reason if the
    keys, the store or an enabled uplink cannot be built (the unit then runs without them)."""
    try:
        kek, _ = load_unit_kek(config, data_dir)
        store = open_store(config, data_dir, kek)
    except Exception as exc:
        logger.debug("store open failed", exc_info=True)
        return f"store: {type(exc).__name__}: {exc}"
    reason, accounts, uplink = None, None, None
    if config.console.enabled:
        try:
            from webadmin.server import open_accounts

            accounts = open_accounts(config, kek)
        except Exception as exc:
            reason = f"console accounts: {type(exc).__name__}: {exc}"
    parts.services.insert(0, StoreService(
        store, closing=(accounts,) if accounts else (),
        access_log_keep_s=config.storage.access_log_retention_days * 86400))
    health = HealthRef()
    try:
        uplink = _build_uplink(config, store, health)
    except Exception as exc:
        reason = reason or f"uplink: {type(exc).__name__}: {exc}"
    if parts.sink is None:
        parts.sink = StoreSink(store, uplink.on_read if uplink else None)
    parts.event_sink = SecurityEvents(config, store, request_stop)
    if accounts is not None:
        from webadmin.service import ConsoleService

        parts.services.insert(1, ConsoleService(
            config, store=store, accounts=accounts, port=console_port,
            hotlist_status=uplink.hotlist_status if uplink else None,
            mounts=[uplink.mount_pull] if uplink else ()))
    if uplink is not None:
        parts.services.append(UplinkRunner(uplink, health))
    return reason


def _build_uplink(config: Any, store: Any, health: HealthRef):
    """The uplink and hotlists; an error only stops the unit when the uplink is enabled."""
    from appliance.uplink.service import UplinkService

    try:
        return UplinkService.from_config(config, store, health=health)
    except Exception as exc:
        if config.uplink.enabled:
            raise
        logger.warning("uplink/hotlists off: %s: %s", type(exc).__name__, exc)
        return None
