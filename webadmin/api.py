"""JSON API under /api/v1: the same functions as the pages, for scripts and the agency's tools.

Authenticate with `POST /api/v1/session` and send `Authorization: Bearer <token>`. Calls that
return plate data need `purpose_kind`, `purpose` and (for investigations) `case_number` query
parameters; the guard turns them into the AccessContext the store logs.
"""

from __future__ import annotations

import functools
import json

from aiohttp import web

from storage.accounts import AccountError
from storage.report import summarise
from webadmin import data
from webadmin.context import CTX, SERVICES, SESSION, USER
from webadmin.openapi import build_openapi
from webadmin.settings import SettingsError, SettingsNotSaved, validate_changes
from webadmin.snapshot import utc_iso
from webadmin.views_admin import parse_training
from webadmin.views_auth import client_address, run_blocking
from webadmin.views_unit import apply_settings

_dumps = functools.partial(json.dumps, default=str)


def ok(body, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


def fail(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def body(request: web.Request) -> dict:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(reason="send application/json")
    try:
        value = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(reason="body is not valid JSON") from None
    if not isinstance(value, dict):
        raise web.HTTPBadRequest(reason="body must be a JSON object")
    return value


def text(value, default: str = "") -> str:
    return value if isinstance(value, str) else default


async def session_create(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    b = await body(request)
    result = await run_blocking(svc.accounts.login, text(b.get("username"))[:64],
                                text(b.get("password"))[:1024], client_address(request),
                                text(b.get("totp")) or None)
    if result.reason == "locked":
        return web.json_response({"error": "too many failed attempts"}, status=429,
                                 headers={"Retry-After": str(int(result.retry_after_s) + 1)})
    if not result.ok:
        svc.store.log_event("console-login-failed", {"username": text(b.get("username"))[:64],
                                                     "address": client_address(request),
                                                     "source": "api"})
        return fail(401, "totp code required" if result.reason == "totp-required"
                    else "wrong user name, password or code")
    token, session = svc.accounts.create_session(result.user.username, client_address(request))
    svc.store.log_event("console-login", {"source": "api"}, user=result.user.username,
                        organisation=result.user.organisation)
    return ok({"token": token, "csrf": session.csrf,
               "must_change_password": result.user.must_change_password}, 201)


async def session_delete(request: web.Request) -> web.StreamResponse:
    request.app[SERVICES].accounts.end_session(request[SESSION].session_id)
    return web.Response(status=204)


async def openapi(request: web.Request) -> web.StreamResponse:
    return ok(build_openapi())


async def me(request: web.Request) -> web.StreamResponse:
    svc, user = request.app[SERVICES], request[USER]
    return ok({"username": user.username, "role": user.role, "organisation": user.organisation,
               "must_change_password": user.must_change_password,
               "policy_acknowledged": user.policy_ack_sha256 == svc.policy.sha256,
               "totp_enabled": user.totp_enabled, "trained": svc.accounts.is_trained(user.username),
               "training": [t.__dict__ for t in svc.accounts.training(user.username)]})


async def password_change(request: web.Request) -> web.StreamResponse:
    svc, user = request.app[SERVICES], request[USER]
    b = await body(request)
    check = await run_blocking(svc.accounts.login, user.username, text(b.get("current"))[:1024],
                               client_address(request), text(b.get("totp")) or None)
    if not check.ok:
        return fail(429 if check.reason == "locked" else 400, "current password is wrong")
    try:
        await run_blocking(svc.accounts.set_password, user.username, text(b.get("new"))[:1024])
    except AccountError as exc:
        return fail(400, str(exc))
    svc.store.log_event("console-password-changed", {"source": "api"}, user=user.username,
                        organisation=user.organisation)
    token, session = svc.accounts.create_session(user.username, client_address(request))
    return ok({"token": token, "csrf": session.csrf})


async def policy(request: web.Request) -> web.StreamResponse:
    svc, user = request.app[SERVICES], request[USER]
    p = svc.policy
    return ok({"text": p.text, "sha256": p.sha256, "alpr_administrator": p.administrator,
               "agency": p.agency, "acknowledged": user.policy_ack_sha256 == p.sha256})


async def policy_ack(request: web.Request) -> web.StreamResponse:
    svc, user = request.app[SERVICES], request[USER]
    b = await body(request)
    if b.get("sha256") != svc.policy.sha256:
        return fail(400, "sha256 must be that of the current policy (GET /api/v1/policy)")
    svc.accounts.acknowledge_policy(user.username, svc.policy.sha256)
    svc.store.log_event("console-policy-acknowledged", {"policy_sha256": svc.policy.sha256},
                        user=user.username, organisation=user.organisation)
    return web.Response(status=204)


async def status(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    return ok({"health": svc.health(), "store": svc.store.stats()})


async def live(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    frame = svc.snapshot()
    if frame is None:
        return fail(503, "no frame yet")
    dets = [{"box": list(box), "plate": plate, "score": score}
            for box, plate, score in frame.detections]
    svc.store.record_access(request[CTX], "live-detections",
                            terms={"plates": [d["plate"] for d in dets if d["plate"]],
                                   "frame_utc": utc_iso(frame.wall_time)}, result_count=len(dets))
    return ok({"wall_time": frame.wall_time, "detections": dets})


async def settings_get(request: web.Request) -> web.StreamResponse:
    return ok(request.app[SERVICES].camera.get())


async def settings_put(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    raw = await body(request)
    try:
        return ok(apply_settings(svc, request[USER],
                                 validate_changes(svc.config, svc.camera.get(), raw)))
    except SettingsError as exc:
        return fail(503 if isinstance(exc, SettingsNotSaved) else 400, str(exc))


async def hotlist(request: web.Request) -> web.StreamResponse:
    return ok(request.app[SERVICES].hotlist_status())


def _data_call(func):
    """Run a data function; invalid terms answer 400 naming the problem."""
    @functools.wraps(func)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await func(request, request.app[SERVICES])
        except data.QueryError as exc:
            return fail(400, str(exc))
        except AccountError as exc:
            return fail(400, str(exc))
    return wrapper


@_data_call
async def reads(request, svc):
    return ok({"reads": data.search(svc, request[CTX], dict(request.query))})


@_data_call
async def read(request, svc):
    return ok(data.get_read(svc, request[CTX], request.match_info["read_id"]))


@_data_call
async def alerts(request, svc):
    return ok({"alerts": data.alerts(svc, request[CTX])})


@_data_call
async def holds(request, svc):
    return ok({"holds": data.holds(svc, request[CTX])})


@_data_call
async def hold_place(request, svc):
    b = await body(request)
    if isinstance(b.get("read_ids"), list):
        b["read_ids"] = " ".join(str(r) for r in b["read_ids"])
    return ok({"holds": data.place_hold(svc, request[CTX], b)}, 201)


@_data_call
async def hold_release(request, svc):
    b = await body(request)
    return ok(data.release_hold(svc, request[CTX], request.match_info["hold_id"],
                                text(b.get("reason"))))


@_data_call
async def evidence_export(request, svc):
    name, package = data.export_evidence(svc, request[CTX], await body(request))
    return web.Response(body=package, content_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


@_data_call
async def releases(request, svc):
    return ok({"releases": data.release_requests(svc, request[CTX])})


@_data_call
async def release_request(request, svc):
    return ok(data.record_release(svc, request[CTX], await body(request)), 201)


@_data_call
async def release_decide(request, svc):
    return ok(data.decide_release(svc, request[CTX], request.match_info["request_id"],
                                  await body(request)))


@_data_call
async def access_log(request, svc):
    entries = data.access_log(svc, request[CTX], dict(request.query))
    return ok({"entries": entries, "summary": summarise(entries)})


@_data_call
async def users(request, svc):
    return ok({"users": [u.__dict__ for u in svc.accounts.list_users()]})


@_data_call
async def user_create(request, svc):
    b, admin = await body(request), request[USER]
    password = await run_blocking(lambda: svc.accounts.create_user(
        text(b.get("username")), text(b.get("role")),
        text(b.get("organisation")) or admin.organisation,
        full_name=text(b.get("full_name"))[:200], one_time_password=True))
    svc.store.log_event("console-user-created", {"username": text(b.get("username")).lower(),
                                                 "role": text(b.get("role"))},
                        user=admin.username, organisation=admin.organisation)
    return ok({"username": text(b.get("username")).strip().lower(),
               "one_time_password": password}, 201)


@_data_call
async def training_add(request, svc):
    b, admin = await body(request), request[USER]
    course, done, expires = parse_training(b)
    svc.accounts.add_training(request.match_info["username"], course, done, expires,
                              recorded_by=admin.username)
    svc.store.log_event("console-training-recorded",
                        {"username": request.match_info["username"], "course": course},
                        user=admin.username, organisation=admin.organisation)
    return web.Response(status=204)
