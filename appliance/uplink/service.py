"""Composition of the unit's uplink: batch source, pusher, pull endpoint, hotlists.

The daemon builds one `UplinkService` from the validated config and the open store, calls
`on_read(read)` for every read (hotlist check → alerts stored → pusher woken), mounts the pull
routes on the console's HTTPS app, and runs `run(stop)` in its event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from appliance.hotlist.fetch import HotlistSync
from appliance.hotlist.manager import HotlistManager
from appliance.uplink.batch import BatchBuilder, BatchSource, Signer
from appliance.uplink.pull import add_pull_routes
from appliance.uplink.push import Pusher, pinned_fingerprint
from appliance.uplink.reqsign import RequestVerifier
from appliance.uplink.verify import load_public_key

logger = logging.getLogger(__name__)


def _trust_key(path: Path):
    if not path.exists():
        logger.warning("no trust anchor %s: the feature that needs it stays off", path)
        return None
    return load_public_key(path.read_bytes())


class UplinkService:
    def __init__(self, *, store: Any, signer: Signer, device_id: str, cfg: Any,
                 server_key=None, hotlists: HotlistManager | None = None,
                 health: Callable[[], dict] = dict) -> None:
        self.store = store
        self.cfg = cfg
        self.device_id = device_id
        builder = BatchBuilder(store, signer, device_id, max_records=cfg.batch_max_records,
                               health=health, send_overview_images=cfg.send_overview_images)
        self.source = BatchSource(store, builder, window=cfg.build_ahead_batches)
        self.pusher = None
        if cfg.enabled:
            self.pusher = Pusher(self.source, cfg.server_url, cfg.server_cert_sha256,
                                 backoff_initial_s=cfg.backoff_initial_s,
                                 backoff_max_s=cfg.backoff_max_s, interval_s=cfg.batch_interval_s,
                                 timeout_s=cfg.push_timeout_s)
        self.verifier = (RequestVerifier(server_key, max_skew_s=cfg.pull_max_skew_s)
                         if server_key is not None and cfg.pull_enabled else None)
        self.hotlists = hotlists
        self.hotlist_sync = None
        if hotlists is not None:
            hotlists.on_alert = self._alerted
            if cfg.enabled and cfg.hotlist_poll_s > 0:
                self.hotlist_sync = HotlistSync(hotlists, cfg.server_url, device_id,
                                                signer.sign_request)

    @classmethod
    def from_config(cls, config: Any, store: Any, *, trust_dir: str | None = None,
                    health: Callable[[], dict] = dict) -> UplinkService:
        data = Path(config.unit.data_dir)
        trust = data / (trust_dir or config.security.trust_dir)
        signer = Signer.from_pem_file(data / "keys" / "identity.key")
        hotlist_key = _trust_key(trust / "hotlist.pub")
        hotlists = None
        if hotlist_key is not None:
            hotlists = HotlistManager(data / config.uplink.hotlist_dir, hotlist_key,
                                      tolerance=config.uplink.match_tolerance, store=store)
            hotlists.reload_if_changed()
        return cls(store=store, signer=signer, device_id=config.unit.unit_id, cfg=config.uplink,
                   server_key=_trust_key(trust / "server.pub"), hotlists=hotlists, health=health)

    def _alerted(self, alert: Any) -> None:
        if self.pusher is not None:
            self.pusher.wake()

    def on_read(self, read: Any) -> list:
        """Check one read against the hotlists (alerts are stored and pushed at once)."""
        return self.hotlists.check(read) if self.hotlists is not None else []

    def mount_pull(self, app: web.Application) -> bool:
        """Add the pull endpoint to the console's app (only with a server key and pull on)."""
        if self.verifier is None:
            return False
        log = getattr(self.store, "log_event", None)
        add_pull_routes(app, self.source, self.verifier, device_id=self.device_id,
                        on_access=(lambda kind, d: log(kind, d, user="agency-server",
                                                       organisation="agency")) if log else None)
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Push batches and poll for hotlists until ``stop`` is set."""
        tasks = [self.pusher.run(stop) if self.pusher else stop.wait()]
        if self.hotlist_sync is not None:
            tasks.append(self._poll_hotlists(stop))
        if self.hotlists is not None:
            tasks.append(self._watch_hotlists(stop))
        await asyncio.gather(*tasks)

    async def _watch_hotlists(self, stop: asyncio.Event, every_s: float = 5.0) -> None:
        """Pick up lists installed into the directory while running (`alpr hotlist install`)."""
        while not stop.is_set():
            report = self.hotlists.reload_if_changed()
            if report:
                logger.info("hotlists reloaded: %s", report)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)

    async def _poll_hotlists(self, stop: asyncio.Event) -> None:
        connector = aiohttp.TCPConnector(ssl=pinned_fingerprint(self.cfg.server_cert_sha256))
        timeout = aiohttp.ClientTimeout(total=self.cfg.push_timeout_s * 4)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            while not stop.is_set():
                try:
                    for name, outcome in (await self.hotlist_sync.sync(session)).items():
                        logger.info("hotlist %s: %s", name, outcome)
                except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
                    logger.warning("hotlist poll failed: %s", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.cfg.hotlist_poll_s)

    def status(self) -> dict:
        """For the console: link state, backlog, active hotlists."""
        p = self.pusher
        return {
            "push": {"enabled": p is not None, "failures": p.failures if p else 0,
                     "last_error": p.last_error if p else None,
                     "acked_batches": p.acked_total if p else 0},
            "pull_enabled": self.verifier is not None,
            "last_acked_seq": self.store.last_acked_seq(),
            "last_sealed_seq": self.source.last_sealed()[0],
            "hotlists": self.hotlist_status(),
        }

    def hotlist_status(self) -> dict:
        if self.hotlists is None:
            return {"enabled": False, "reason": "no trust/hotlist.pub"}
        return {"enabled": True, "version": self.hotlists.version,
                "lists": self.hotlists.active(),
                "refused": {n: str(e) for n, e in self.hotlists.errors.items()}}
