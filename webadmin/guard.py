"""Who may call a route: session, CSRF, password/policy readiness, role, training, purpose.

Every route in webadmin.routes is wrapped by `guarded(route)`; nothing else grants access.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import quote

from aiohttp import web

from storage.accounts import Session, User
from webadmin.context import CTX, SERVICES, SESSION, USER, Services, error_page
from webadmin.purpose import PurposeError, access_context, check_purpose

logger = logging.getLogger(__name__)

SESSION_COOKIE = "__Host-alpr"
PRE_COOKIE = "__Host-alpr-pre"  # double-submit CSRF token for the login form
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def deny(request: web.Request, status: int, message: str, **headers) -> web.StreamResponse:
    """An error answer: JSON for the API, a plain page otherwise (no details, no traces)."""
    if request.path.startswith("/api/"):
        return web.json_response({"error": message}, status=status, headers=headers)
    return error_page(request, status, message, headers)


def redirect(request: web.Request, path: str, keep_next: bool = True) -> web.StreamResponse:
    target = f"{path}?next={quote(request.path_qs, safe='')}" if keep_next else path
    raise web.HTTPSeeOther(target)


def authenticate(request: web.Request) -> tuple[Session, User, bool] | None:
    """The caller's live session and user; bool = came with a bearer token (no CSRF needed)."""
    svc: Services = request.app[SERVICES]
    auth = request.headers.get("Authorization", "")
    bearer = auth.startswith("Bearer ")
    token = auth[7:].strip() if bearer else request.cookies.get(SESSION_COOKIE, "")
    if not token or len(token) > 200:
        return None
    cfg = svc.config.console
    session = svc.accounts.get_session(token, cfg.idle_timeout_min * 60,
                                       cfg.absolute_timeout_h * 3600)
    if session is None:
        return None
    user = svc.accounts.get_user(session.username)
    if user is None or user.disabled:
        svc.accounts.end_session(session.session_id)
        return None
    return session, user, bearer


async def csrf_ok(request: web.Request, expected: str) -> bool:
    """The token from the X-CSRF-Token header or the form's `csrf` field matches."""
    given = request.headers.get("X-CSRF-Token", "")
    if not given and request.content_type in ("application/x-www-form-urlencoded",
                                              "multipart/form-data"):
        given = str((await request.post()).get("csrf", ""))
    return bool(expected) and secrets.compare_digest(given.encode(), expected.encode())


def needs_readiness(svc: Services, user: User) -> str | None:
    """What the user must do before anything else: change the password, then accept the policy."""
    if user.must_change_password:
        return "/password"
    if user.policy_ack_sha256 != svc.policy.sha256:
        return "/policy"
    return None


def _api_purpose(request: web.Request, user: User):
    q = request.query
    kind, text, case = check_purpose(q.get("purpose_kind"), q.get("purpose"),
                                     q.get("case_number"), user.role)
    return access_context(user, kind, text, case, "api", request.remote)


def _page_purpose(request: web.Request, session: Session, user: User):
    if not session.purpose_kind:
        redirect(request, "/purpose")
    return access_context(user, session.purpose_kind, session.purpose or "",
                          session.case_number, "console", request.remote)


async def check(route, request: web.Request) -> web.StreamResponse | None:
    """None when the request may go on to the handler; otherwise the answer to send."""
    svc: Services = request.app[SERVICES]
    if route.roles is None:
        if request.method not in SAFE_METHODS and not route.api:
            if not await csrf_ok(request, request.cookies.get(PRE_COOKIE, "")):
                return deny(request, 403, "The form expired. Reload the page and try again.")
        return None
    found = authenticate(request)
    if found is None:
        if route.api:
            return deny(request, 401, "authentication required",
                        **{"WWW-Authenticate": 'Bearer realm="console"'})
        redirect(request, "/login")
    session, user, bearer = found
    request[SESSION], request[USER] = session, user
    if request.method not in SAFE_METHODS and not bearer:
        if not await csrf_ok(request, session.csrf):
            return deny(request, 403, "CSRF token missing or wrong. Reload the page.")
    todo = needs_readiness(svc, user)
    if route.ready and todo:
        if route.api:
            return deny(request, 403, f"complete {todo} first")
        redirect(request, todo)
    if user.role not in route.roles:
        return deny(request, 403, "Your role does not permit this.")
    if route.trained and not svc.accounts.is_trained(user.username):
        return deny(request, 403, "No current training record: you may only see the policy "
                    "and your own training status.")
    if route.purpose:
        try:
            request[CTX] = (_api_purpose(request, user) if route.api
                              else _page_purpose(request, session, user))
        except PurposeError as exc:
            return deny(request, 400, f"purpose required: {exc}")
    return None


def guarded(route):
    async def handler(request: web.Request) -> web.StreamResponse:
        answer = await check(route, request)
        if answer is not None:
            return answer
        return await route.handler(request)

    handler.__name__ = f"guarded_{route.handler.__name__}"
    return handler
