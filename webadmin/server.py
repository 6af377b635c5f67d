"""Serving the console: HTTPS with the unit's certificate; plain HTTP only redirects (or is off)."""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

from aiohttp import web

from storage.accounts import AccountStore, accounts_path, derive_seal_key
from webadmin.tls import server_context

logger = logging.getLogger(__name__)


def open_accounts(config, kek: bytes | None) -> AccountStore:
    """The unit's account store, its lockout settings from [console]."""
    return AccountStore.open(accounts_path(config.unit.data_dir),
                             seal_key=derive_seal_key(kek) if kek else None,
                             max_failures=config.console.max_failed_logins,
                             lockout_s=config.console.lockout_min * 60)


def redirect_app(https_port: int) -> web.Application:
    """The only thing plain HTTP does: send the browser to HTTPS."""
    async def to_https(request: web.Request) -> web.StreamResponse:
        host = (request.host or "localhost").rsplit(":", 1)[0].strip("[]")
        host = f"[{host}]" if ":" in host else host
        raise web.HTTPMovedPermanently(f"https://{host}:{https_port}/")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", to_https)
    app.on_response_prepare.append(_no_banner)
    return app


async def _no_banner(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = ""


async def start_console(app: web.Application, config, *, port: int | None = None,
                        host: str | None = None) -> list[web.AppRunner]:
    """Start HTTPS (and the optional HTTP redirect); the caller cleans the runners up."""
    cfg = config.console
    ssl_ctx = server_context(config.unit.data_dir, cfg, config.unit.unit_id)
    port = cfg.port if port is None else port
    host = host or cfg.host
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port, ssl_context=ssl_ctx).start()
    runners = [runner]
    logger.info("console on https://%s:%s/", host, port)
    if cfg.http_redirect_port:
        redirect = web.AppRunner(redirect_app(port), access_log=None, handle_signals=False)
        await redirect.setup()
        await web.TCPSite(redirect, host, cfg.http_redirect_port).start()
        runners.append(redirect)
        logger.info("plain HTTP on port %s only redirects to HTTPS", cfg.http_redirect_port)
    return runners


def basic_health(config, store) -> dict:
    """What a console-only run can say about the unit (the daemon gives the full snapshot)."""
    disk = shutil.disk_usage(config.unit.data_dir)
    temp = None
    zone = Path("/sys/class/thermal/thermal_zone0/temp")
    if zone.exists():
        try:
            temp = int(zone.read_text().strip()) / 1000
        except (OSError, ValueError):
            temp = None
    return {"console": {"mode": "console only (no capture loop)", "pid": os.getpid()},
            "system": {"cpu_temp_c": temp, "disk_free_mb": disk.free // 2**20,
                       "load_1m": os.getloadavg()[0], "wall_time": time.time()},
            "uplink": {"backlog": store.stats().get("backlog")}}


class ConsoleThread:
    """The console on its own event-loop thread, for a daemon built on threads.

    `start()` returns once HTTPS is listening (or raises why not); `stop()` is safe twice.
    """

    def __init__(self, app: web.Application, config, *, port: int | None = None):
        self._app, self._config, self._port = app, config, port
        self._loop = None
        self._thread = None
        self._runners: list[web.AppRunner] = []

    def start(self, timeout_s: float = 30.0) -> None:
        import asyncio
        import threading

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="console",
                                        daemon=True)
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            start_console(self._app, self._config, port=self._port), self._loop)
        try:
            self._runners = future.result(timeout_s)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout_s: float = 10.0) -> None:
        import asyncio

        if self._loop is None:
            return
        loop, self._loop = self._loop, None
        if self._runners:
            asyncio.run_coroutine_threadsafe(_cleanup(self._runners), loop).result(timeout_s)
            self._runners = []
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout_s)
        loop.close()


async def _cleanup(runners: list[web.AppRunner]) -> None:
    for runner in runners:
        await runner.cleanup()
