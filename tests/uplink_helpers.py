"""Shared helpers for the uplink/receiver/hotlist tests: a fake outbox that obeys the store's
rules, synthetic reads, a real TLS receiver on 127.0.0.1 port 0."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from dataclasses import dataclass

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.uplink.batch import BatchBuilder, BatchSource, Signer, alert_record, read_record
from appliance.uplink.receiver.app import create_app
from appliance.uplink.receiver.db import ReceiverDB
from appliance.uplink.tlsutil import make_self_signed, server_context
from inference.types import Candidate, Read


@dataclass(frozen=True)
class Rec:
    kind: str
    record_id: str
    payload: dict


class FakeOutbox:
    """In-memory stand-in for the store's outbox with the same rules: records in a sealed batch
    are no longer pending; seqs are consecutive; acks are idempotent; unknown seqs refused."""

    ORDER = {"alert": 0, "event": 1, "access": 1, "read": 2}

    def __init__(self) -> None:
        self.pending: dict[tuple[str, str], tuple[int, Rec]] = {}
        self.batches: dict[int, bytes] = {}
        self.acked: set[int] = set()
        self.uplinked: set[tuple[str, str]] = set()
        self._keys: dict[int, list] = {}
        self._n = 0

    def add(self, kind: str, record_id: str, payload: dict) -> None:
        self._n += 1
        self.pending[(kind, record_id)] = (self._n, Rec(kind, record_id, payload))

    def add_read(self, read: Read) -> None:
        self.add("read", read.read_id, read_record(read))

    def add_alert(self, alert) -> None:
        self.add("alert", alert.alert_id, alert_record(alert))

    def outbox_pending(self, limit: int) -> list[Rec]:
        items = sorted(self.pending.values(), key=lambda t: (self.ORDER[t[1].kind], t[0]))
        return [rec for _, rec in items[:limit]]

    def save_batch(self, seq: int, body: bytes, record_keys: list) -> None:
        last = max(self.batches, default=0)
        if seq != last + 1:
            raise ValueError(f"batch {seq} after {last}")
        for key in record_keys:
            del self.pending[tuple(key)]
        self.batches[seq] = body
        self._keys[seq] = [tuple(k) for k in record_keys]

    def batches_after(self, seq: int, limit: int) -> list[tuple[int, bytes]]:
        return [(s, self.batches[s]) for s in sorted(self.batches) if s > seq][:limit]

    def ack_batch(self, seq: int) -> None:
        if seq not in self.batches:
            raise KeyError(seq)
        self.acked.add(seq)
        self.uplinked.update(self._keys[seq])

    def last_batch(self) -> tuple[int, str] | None:
        if not self.batches:
            return None
        seq = max(self.batches)
        return seq, hashlib.sha256(self.batches[seq]).hexdigest()

    def last_acked_seq(self) -> int:
        n = 0
        while n + 1 in self.acked:
            n += 1
        return n


def make_read(plate: str = "7ABC123", alts: tuple[str, ...] = (), t: float = 1.8e9) -> Read:
    cands = (Candidate(plate, 0.9, "US-CA"),) + tuple(Candidate(a, 0.5) for a in alts)
    return Read(read_id=uuid.uuid4().hex, plate=plate, confidence=0.9, candidates=cands,
                first_seen_wall=t, last_seen_wall=t + 0.4, first_seen_mono=100.0,
                last_seen_mono=100.4, clock_synced=True, frames_used=5, crop_jpeg=b"\xff\xd8jpeg")


def make_unit(device_id: str = "unit-1", *, max_records: int = 100, window: int = 4,
              outbox=None, key: Ed25519PrivateKey | None = None):
    """(outbox, source, signer) for one simulated unit."""
    outbox = outbox if outbox is not None else FakeOutbox()
    signer = Signer(key or Ed25519PrivateKey.generate())
    builder = BatchBuilder(outbox, signer, device_id, max_records=max_records,
                           health=lambda: {"temp_c": 51.5, "disk_free": 0.8})
    return outbox, BatchSource(outbox, builder, window=window), signer


class TlsServer:
    """A real aiohttp HTTPS server on 127.0.0.1, port 0; can be stopped and restarted in place."""

    def __init__(self, app_factory, tmp_path, name: str = "srv") -> None:
        self.app_factory = app_factory
        self.cert, self.key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
        self.pin = make_self_signed(self.cert, self.key)
        self.port = 0
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.runner = web.AppRunner(self.app_factory(), shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port,
                           ssl_context=server_context(self.cert, self.key), reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.runner is not None:
            with contextlib.suppress(Exception):
                await self.runner.cleanup()
            self.runner = None


def receiver_server(db: ReceiverDB, tmp_path) -> TlsServer:
    return TlsServer(lambda: create_app(db), tmp_path, "receiver")


class FlakyLink:
    """A TCP relay between client and server (TLS passes through untouched) whose link can be
    cut: `cut()` drops every open connection mid-flight, `down` refuses new ones."""

    def __init__(self, target_port_fn) -> None:
        self.target_port_fn = target_port_fn
        self.down = False
        self.cuts = 0
        self._writers: set = set()
        self.server = None
        self.port = 0

    async def start(self) -> None:
        import asyncio

        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader, writer) -> None:
        import asyncio

        if self.down:
            writer.close()
            return
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port_fn())
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_w))

        async def pipe(r, w):
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                w.close()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))
        self._writers.difference_update((writer, up_w))

    def cut(self) -> None:
        self.cuts += 1
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()

    async def stop(self) -> None:
        self.cut()
        self.server.close()
        await self.server.wait_closed()
