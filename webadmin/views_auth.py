"""Pages for signing in and out, the one-time password change, the policy, own account, purpose."""

from __future__ import annotations

import asyncio
import logging
import secrets

import pyotp
from aiohttp import web

from storage.accounts import AccountError
from webadmin.context import SERVICES, SESSION, USER, render
from webadmin.guard import PRE_COOKIE, SESSION_COOKIE
from webadmin.purpose import PURPOSE_KINDS, PurposeError, check_purpose

logger = logging.getLogger(__name__)

LANDING = {"admin": "/users", "technician": "/status", "investigator": "/search",
           "auditor": "/audit"}


def safe_next(value: str | None, default: str = "/") -> str:
    """Only local paths: never an open redirect."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return default


def set_session_cookie(resp: web.StreamResponse, token: str) -> None:
    resp.set_cookie(SESSION_COOKIE, token, secure=True, httponly=True, samesite="Strict",
                    path="/")


async def run_blocking(func, *args):
    """argon2 takes tens of milliseconds: keep it off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"


async def login_form(request: web.Request) -> web.StreamResponse:
    token = secrets.token_urlsafe(32)
    resp = render(request, "login.html", {"csrf": token, "next": request.query.get("next", "")})
    resp.set_cookie(PRE_COOKIE, token, secure=True, httponly=True, samesite="Strict", path="/")
    return resp


async def login(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    form = await request.post()
    username = str(form.get("username", ""))[:64]
    address = client_address(request)
    result = await run_blocking(svc.accounts.login, username, str(form.get("password", ""))[:1024],
                                address, str(form.get("totp", "")) or None)
    csrf = request.cookies.get(PRE_COOKIE, "")
    page = {"csrf": csrf, "next": form.get("next", ""), "username": username}
    if result.reason == "locked":
        minutes = max(1, round(result.retry_after_s / 60))
        page["error"] = f"Too many failed attempts. Try again in about {minutes} minute(s)."
        return render(request, "login.html", page, status=429)
    if result.reason == "totp-required":
        page["error"], page["ask_totp"] = "Enter the code from your authenticator app.", True
        return render(request, "login.html", page, status=401)
    if not result.ok:
        svc.store.log_event("console-login-failed", {"username": username, "address": address,
                                                     "reason": result.reason})
        page["error"] = "Wrong user name, password or code."
        return render(request, "login.html", page, status=401)
    user = result.user
    token, _ = svc.accounts.create_session(user.username, address)
    svc.store.log_event("console-login", {"address": address}, user=user.username,
                        organisation=user.organisation)
    resp = web.HTTPSeeOther(safe_next(str(form.get("next", ""))))
    set_session_cookie(resp, token)
    resp.del_cookie(PRE_COOKIE, path="/")
    raise resp


async def logout(request: web.Request) -> web.StreamResponse:
    request.app[SERVICES].accounts.end_session(request[SESSION].session_id)
    resp = web.HTTPSeeOther("/login")
    resp.del_cookie(SESSION_COOKIE, path="/")
    raise resp


async def password_form(request: web.Request) -> web.StreamResponse:
    return render(request, "password.html", {"next": request.query.get("next", "")})


async def password_change(request: web.Request) -> web.StreamResponse:
    svc, user = request.app[SERVICES], request[USER]
    form = await request.post()
    current, new = str(form.get("current", ""))[:1024], str(form.get("new", ""))[:1024]
    ctx = {"next": form.get("next", "")}
    if new != form.get("confirm", ""):
        ctx["error"] = "The two new passwords differ."
        return render(request, "password.html", ctx, status=400)
    check = await run_blocking(svc.accounts.login, user.username, current,
                               client_address(request), str(form.get("totp", "")) or None)
    if not check.ok:
        ctx["error"] = ("Too many failed attempts; try later." if check.reason == "locked"
                        else "The current password is wrong.")
        return render(request, "password.html", ctx, status=400)
    try:
        await run_blocking(svc.accounts.set_password, user.username, new)
    except AccountError as exc:
        ctx["error"] = str(exc).capitalize() + "."
        return render(request, "password.html", ctx, status=400)
    svc.store.log_event("console-password-changed", {}, user=user.username,
                        organisation=user.organisation)
    token, _ = svc.accounts.create_session(user.username, client_address(request))
    resp = web.HTTPSeeOther(safe_next(str(form.get("next", ""))))
    set_session_cookie(resp, token)
    raise resp


async def policy(request: web.Request) -> web.StreamResponse:
    return render(request, "policy.html", {"next": request.query.get("next", "")})


async def policy_ack(request: web.Request) -> web.StreamResponse:
    svc, user = request.app[SERVICES], request[USER]
    svc.accounts.acknowledge_policy(user.username, svc.policy.sha256)
    svc.store.log_event("console-policy-acknowledged", {"policy_sha256": svc.policy.sha256},
                        user=user.username, organisation=user.organisation)
    raise web.HTTPSeeOther(safe_next(str((await request.post()).get("next", ""))))


async def home(request: web.Request) -> web.StreamResponse:
    svc, user = request.app[SERVICES], request[USER]
    if not svc.accounts.is_trained(user.username):
        raise web.HTTPSeeOther("/me")
    raise web.HTTPSeeOther(LANDING[user.role])


async def me(request: web.Request) -> web.StreamResponse:
    svc, user = request.app[SERVICES], request[USER]
    return render(request, "me.html", {"training": svc.accounts.training(user.username),
                                       "trained": svc.accounts.is_trained(user.username)})


async def totp_enrol(request: web.Request) -> web.StreamResponse:
    svc, user = request.app[SERVICES], request[USER]
    form = await request.post()
    ctx = {"training": svc.accounts.training(user.username),
           "trained": svc.accounts.is_trained(user.username)}
    try:
        if form.get("action") == "confirm":
            svc.accounts.confirm_totp(user.username, str(form.get("secret", "")),
                                      str(form.get("code", "")))
            svc.store.log_event("console-totp-enabled", {}, user=user.username,
                                organisation=user.organisation)
            raise web.HTTPSeeOther("/me?ok=totp")
        secret = svc.accounts.begin_totp(user.username)
    except (AccountError, ValueError) as exc:
        ctx["error"] = str(exc)
        return render(request, "me.html", ctx, status=400)
    ctx["totp_secret"] = secret
    ctx["totp_uri"] = pyotp.TOTP(secret).provisioning_uri(name=user.username,
                                                          issuer_name=svc.config.unit.unit_id)
    return render(request, "me.html", ctx)


async def purpose_form(request: web.Request) -> web.StreamResponse:
    return render(request, "purpose.html", {"kinds": PURPOSE_KINDS,
                                            "next": request.query.get("next", "")})


async def purpose_set(request: web.Request) -> web.StreamResponse:
    svc, session = request.app[SERVICES], request[SESSION]
    form = await request.post()
    if form.get("action") == "clear":
        svc.accounts.set_purpose(session.session_id, None, None, None)
        raise web.HTTPSeeOther("/purpose")
    try:
        kind, text, case = check_purpose(form.get("purpose_kind"), form.get("purpose"),
                                         form.get("case_number"), request[USER].role)
    except PurposeError as exc:
        return render(request, "purpose.html", {"kinds": PURPOSE_KINDS, "error": str(exc),
                                                "next": form.get("next", ""), "form": form},
                      status=400)
    svc.accounts.set_purpose(session.session_id, kind, text, case)
    raise web.HTTPSeeOther(safe_next(str(form.get("next", "")), "/"))
