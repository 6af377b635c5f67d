"""Push client: post sealed batches to the agency server over HTTPS with a pinned certificate.

Batches go strictly in sequence (the server checks the chain); each is marked sent only when the
server acknowledges it, so a restart resumes from the store's last acknowledged sequence. Link
errors back off exponentially with full jitter; `wake()` (called when an alert is stored) cuts
any wait short so the alert leaves at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import aiohttp

from appliance.uplink.batch import BatchSource

logger = logging.getLogger(__name__)


class PushRejected(Exception):
    """The server refused a batch (not a link problem); ``code`` is its error code."""

    def __init__(self, seq: int, status: int, code: str, detail: str) -> None:
        super().__init__(f"batch {seq} refused ({status} {code}): {detail}")
        self.seq, self.status, self.code = seq, status, code


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: uniform(initial/10, min(max, initial * 2**(attempt-1)))."""
    cap = min(maximum, initial * (2 ** min(attempt - 1, 30)))
    return rng.uniform(initial / 10, cap)


def pinned_fingerprint(cert_sha256_hex: str) -> aiohttp.Fingerprint:
    """aiohttp checks the server's DER certificate against this SHA-256 on every connection."""
    if len(cert_sha256_hex) != 64:
        raise ValueError("server_cert_sha256 must be 64 hex characters")
    return aiohttp.Fingerprint(bytes.fromhex(cert_sha256_hex))


class Pusher:
    def __init__(self, source: BatchSource, server_url: str, cert_sha256: str, *,
                 backoff_initial_s: float = 1.0, backoff_max_s: float = 300.0,
                 interval_s: float = 5.0, timeout_s: float = 30.0,
                 rng: random.Random | None = None,
                 on_ack: Callable[[int], None] | None = None) -> None:
        if not server_url.startswith("https://"):
            raise ValueError("server_url must be https://")
        self.source = source
        self.url = server_url.rstrip("/") + "/v1/batches"
        self.fingerprint = pinned_fingerprint(cert_sha256)
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.interval_s = interval_s
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.rng = rng or random.Random()
        self.on_ack = on_ack
        self.failures = 0  # in a row
        self.failures_total = 0
        self.acked_total = 0
        self.last_error: str | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Push now (thread-safe): called when an alert is stored."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Push until ``stop`` is set."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        connector = aiohttp.TCPConnector(ssl=self.fingerprint, limit=1)
        async with aiohttp.ClientSession(connector=connector, timeout=self.timeout) as session:
            while not stop.is_set():
                delay = await self._cycle(session)
                await self._sleep(delay, stop)

    async def _cycle(self, session: aiohttp.ClientSession) -> float:
        self._wake.clear()
        try:
            await self.push_pending(session)
        except (aiohttp.ClientError, TimeoutError, OSError, PushRejected) as exc:
            self.failures += 1
            self.failures_total += 1
            self.last_error = str(exc)
            delay = backoff_delay(self.failures, self.backoff_initial_s, self.backoff_max_s,
                                  self.rng)
            log = logger.error if isinstance(exc, PushRejected) else logger.warning
            log("uplink push failed (%s in a row), retry in %.1f s: %s", self.failures, delay, exc)
            return delay
        self.failures = 0
        self.last_error = None
        return self.interval_s

    async def _sleep(self, delay: float, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def push_pending(self, session: aiohttp.ClientSession) -> int:
        """Send every unacknowledged batch, building new ones, until the outbox is empty."""
        sent = 0
        while batches := self.source.unacked():
            for seq, body in batches:
                await self.post(session, seq, body)
                self.source.ack(seq)
                self.acked_total += 1
                sent += 1
                if self.on_ack:
                    self.on_ack(seq)
        return sent

    async def post(self, session: aiohttp.ClientSession, seq: int, body: bytes) -> dict:
        headers = {"Content-Type": "application/json"}
        async with session.post(self.url, data=body, headers=headers) as resp:
            try:
                reply = await resp.json(content_type=None)
            except ValueError:
                reply = {}
            if resp.status == 200 and reply.get("ack") == seq:
                return reply
            if resp.status >= 500 or resp.status in (408, 429):
                raise aiohttp.ClientResponseError(resp.request_info, resp.history,
                                                  status=resp.status, message="server busy")
            raise PushRejected(seq, resp.status, str(reply.get("error", "unexpected")),
                               str(reply.get("detail", reply)))
