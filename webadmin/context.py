"""What the console is given by the daemon, and small rendering helpers shared by the views."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp_jinja2
from aiohttp import web

from storage.accounts import AccountStore, Session, User
from storage.types import AccessContext
from webadmin.policy import Policy


class CameraControl(Protocol):
    """Live camera and IR settings (the capture loop applies them)."""

    def get(self) -> dict: ...

    def apply(self, changes: dict) -> dict: ...


@dataclass(frozen=True)
class LiveFrame:
    """One frame for the aiming view; detections are (box x,y,w,h, plate text or None, score)."""

    jpeg: bytes
    wall_time: float
    detections: tuple[tuple[tuple[float, float, float, float], str | None, float], ...] = ()


@dataclass
class Services:
    config: Any  # AlprConfig
    store: Any  # storage.store.Store
    accounts: AccountStore
    policy: Policy
    health: Callable[[], dict]
    snapshot: Callable[[], LiveFrame | None]
    hotlist_status: Callable[[], dict]
    camera: CameraControl
    evidence_signer: Any = None  # the device's Ed25519 private key; None = export unavailable


SERVICES = web.AppKey("services", Services)
SESSION = web.RequestKey("session", Session)
USER = web.RequestKey("user", User)
CTX = web.RequestKey("ctx", AccessContext)  # set by the guard on purpose=True routes


# Fixed confirmations after a redirect (?ok=KEY); nothing from the query is echoed.
NOTICES = {"placed": "Hold placed.", "released": "Hold released.", "recorded": "Request recorded.",
           "decided": "Decision recorded.", "totp": "Two-factor sign-in is on.",
           "1": "Saved."}


def render(request: web.Request, template: str, context: dict | None = None,
           status: int = 200) -> web.Response:
    """A page with the common context (user, csrf token, purpose banner, policy facts)."""
    svc = request.app[SERVICES]
    session = request.get(SESSION)
    base = {"user": request.get(USER), "session": session,
            "csrf": session.csrf if session else "", "policy": svc.policy,
            "unit": svc.config.unit, "path": request.path,
            "notice": NOTICES.get(request.query.get("ok", ""))}
    base.update(context or {})
    return aiohttp_jinja2.render_template(template, request, base, status=status)


def error_page(request: web.Request, status: int, message: str,
               headers: dict | None = None) -> web.Response:
    resp = render(request, "error.html", {"status": status, "message": message}, status=status)
    resp.headers.update(headers or {})
    return resp
