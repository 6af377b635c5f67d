"""`create_app`: the console application, built from validated objects the daemon owns."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from storage.accounts import AccountStore
from webadmin.context import SERVICES, CameraControl, LiveFrame, Services, error_page
from webadmin.guard import guarded
from webadmin.policy import Policy, load_policy
from webadmin.routes import ROUTES
from webadmin.settings import limits

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "object-src 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
MAX_BODY = 1024 * 1024


def create_app(config, *, store, accounts: AccountStore, health_provider: Callable[[], dict],
               snapshot_provider: Callable[[], LiveFrame | None],
               hotlist_status: Callable[[], dict], camera_control: CameraControl,
               policy: Policy | None = None, evidence_signer=None) -> web.Application:
    """The console app. The caller owns (opens and closes) store, accounts and providers."""
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY)
    app[SERVICES] = Services(config=config, store=store, accounts=accounts,
                             policy=policy or load_policy(config.unit), health=health_provider,
                             snapshot=snapshot_provider, hotlist_status=hotlist_status,
                             camera=camera_control, evidence_signer=evidence_signer)
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"),
                               autoescape=jinja2.select_autoescape(default=True))
    env.globals["static"] = lambda name: f"/static/{name}"
    env.globals["limits"] = functools.partial(limits, config)
    env.filters["utc"] = _utc
    for route in ROUTES:
        app.router.add_route(route.method, route.path, guarded(route))
    app.router.add_static("/static/", HERE / "static", show_index=False, follow_symlinks=False)
    app.on_response_prepare.append(_security_headers)
    return app


def _utc(ts) -> str:
    try:
        return dt.datetime.fromtimestamp(float(ts), dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, OverflowError, OSError):
        return str(ts)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)
    response.headers["Server"] = ""  # no product fingerprint
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"


@web.middleware
async def error_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Errors as plain messages: no stack traces, no framework banners."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = {404: "Not found.", 405: "Method not allowed.",
                   413: "Request too large."}.get(exc.status, exc.reason)
        return _error(request, exc.status, message)
    except PermissionError as exc:  # the store refused an access (storage.exc.AccessDenied)
        return _error(request, 403, str(exc))
    except Exception:
        logger.exception("console: unhandled error on %s %s", request.method, request.path)
        return _error(request, 500, "Internal error. The event has been logged.")


def _error(request: web.Request, status: int, message: str) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        return web.json_response({"error": message}, status=status)
    try:
        return error_page(request, status, message)
    except Exception:  # the template itself failed: fall back to plain text
        logger.exception("console: error page failed")
        return web.Response(status=status, text=message)
