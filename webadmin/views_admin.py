"""Oversight pages: the access log and its report, users and their training records."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging

from aiohttp import web

from storage.accounts import ROLES, AccountError
from storage.report import summarise
from webadmin import data
from webadmin.context import CTX, SERVICES, USER, render
from webadmin.views_auth import run_blocking

logger = logging.getLogger(__name__)

REPORT_COLUMNS = ("seq", "utc", "user", "organisation", "role", "source", "address", "action",
                  "purpose", "case_number", "terms", "result_count", "detail")


async def audit(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    query = {k: v for k, v in request.query.items() if v}
    try:
        entries = data.access_log(svc, request[CTX], query)
    except data.QueryError as exc:
        return render(request, "audit.html", {"entries": [], "query": query, "error": str(exc)},
                      status=400)
    ok, first_bad = svc.store.verify_access_log()
    return render(request, "audit.html", {"entries": entries[::-1], "query": query,
                                          "summary": summarise(entries),
                                          "chain_ok": ok, "first_bad": first_bad})


async def audit_csv(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    try:
        entries = data.access_log(svc, request[CTX], dict(request.query))
    except data.QueryError as exc:
        raise web.HTTPBadRequest(reason=str(exc)) from None
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    for e in entries:
        writer.writerow([_cell(e.get(c)) for c in REPORT_COLUMNS])
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return web.Response(text=out.getvalue(), content_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="access-report-{stamp}.csv"'})


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text  # no spreadsheet formulas


def users_context(svc, **extra) -> dict:
    users = svc.accounts.list_users()
    return {"users": users, "roles": ROLES,
            "training": {u.username: svc.accounts.training(u.username) for u in users},
            "trained": {u.username: svc.accounts.is_trained(u.username) for u in users}, **extra}


async def users(request: web.Request) -> web.StreamResponse:
    return render(request, "users.html", users_context(request.app[SERVICES]))


async def user_create(request: web.Request) -> web.StreamResponse:
    svc, admin = request.app[SERVICES], request[USER]
    form = await request.post()
    try:
        password = await run_blocking(lambda: svc.accounts.create_user(
            str(form.get("username", "")), str(form.get("role", "")),
            str(form.get("organisation", "")) or admin.organisation,
            full_name=str(form.get("full_name", ""))[:200], one_time_password=True))
    except AccountError as exc:
        return render(request, "users.html", users_context(svc, error=str(exc)), status=400)
    name = str(form.get("username", "")).strip().lower()
    svc.store.log_event("console-user-created", {"username": name, "role": form.get("role")},
                        user=admin.username, organisation=admin.organisation)
    return render(request, "users.html", users_context(svc, new_user=name, new_password=password))


async def user_update(request: web.Request) -> web.StreamResponse:
    svc, admin = request.app[SERVICES], request[USER]
    name = request.match_info["username"]
    form = await request.post()
    action = str(form.get("action", ""))
    extra: dict = {}
    try:
        if action == "role":
            svc.accounts.set_role(name, str(form.get("role", "")))
        elif action in ("disable", "enable"):
            if name == admin.username:
                raise AccountError("you cannot disable your own account")
            svc.accounts.set_disabled(name, action == "disable")
        elif action == "reset":
            extra = {"new_user": name,
                     "new_password": await run_blocking(svc.accounts.reset_password, name)}
        elif action == "totp-off":
            svc.accounts.disable_totp(name)
        else:
            raise AccountError("unknown action")
    except AccountError as exc:
        return render(request, "users.html", users_context(svc, error=str(exc)), status=400)
    svc.store.log_event("console-user-changed", {"username": name, "action": action,
                                                 "role": form.get("role")},
                        user=admin.username, organisation=admin.organisation)
    if extra:
        return render(request, "users.html", users_context(svc, **extra))
    raise web.HTTPSeeOther("/users?ok=1")


def parse_training(form) -> tuple[str, dt.date, dt.date]:
    try:
        done = dt.date.fromisoformat(str(form.get("completed_on", "")))
        expires = dt.date.fromisoformat(str(form.get("expires_on", "")))
    except ValueError:
        raise AccountError("dates must be YYYY-MM-DD") from None
    return str(form.get("course", ""))[:200], done, expires


async def training_add(request: web.Request) -> web.StreamResponse:
    svc, admin = request.app[SERVICES], request[USER]
    name = request.match_info["username"]
    form = await request.post()
    try:
        course, done, expires = parse_training(form)
        svc.accounts.add_training(name, course, done, expires, recorded_by=admin.username)
    except AccountError as exc:
        return render(request, "users.html", users_context(svc, error=str(exc)), status=400)
    svc.store.log_event("console-training-recorded", {"username": name, "course": course,
                                                      "expires_on": expires.isoformat()},
                        user=admin.username, organisation=admin.organisation)
    raise web.HTTPSeeOther("/users?ok=1")
