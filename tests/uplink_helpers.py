"""Shared helpers for the uplink/receiver/hotlist tests: a real TLS receiver on 127.0.0.1 port 0
and a link that can be cut. Simulated units (in-memory outbox, synthetic reads) live in
appliance.uplink.sim, which bench/fleet.py uses too.
"""

from __future__ import annotations

import contextlib

from aiohttp import web

from appliance.uplink.receiver.app import create_app
from appliance.uplink.receiver.db import ReceiverDB
from appliance.uplink.tlsutil import make_self_signed, server_context


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
