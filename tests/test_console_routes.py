"""Every route of the table × every role (trained and untrained) and anonymous callers."""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

import pytest
from console_support import client, make_alert, make_read, open_store, start_console

from webadmin.routes import ROUTES

ROLES = ("admin", "technician", "investigator", "auditor")
PURPOSES = {"technician": ("maintenance", "aiming the camera", None),
            "investigator": ("investigation", "stolen vehicle report", "CASE-2026-17"),
            "auditor": ("audit", "quarterly audit", None),
            "admin": ("release", "deciding release requests", None)}
READINESS_PAGES = ("/login?next", "/password?next", "/policy?next", "/purpose?next")


@pytest.fixture
async def console(tmp_path):
    store = open_store(tmp_path)
    read = make_read("7ABC123", time.time() - 60)
    store.add_read(read)
    store.add_alert(make_alert(read))
    c = await start_console(tmp_path, store)
    for role in ROLES:
        c.user(role[:4], role)
        c.user(f"new{role[:4]}", role, trained=False)
    c.read_id = read.read_id
    yield c
    await c.server.close()
    c.accounts.close()
    store.close()


def concrete(path: str, read_id: str) -> str:
    values = {"read_id": read_id, "image": "crop", "hold_id": "1", "request_id": "1",
              "username": "tech"}
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)


def expected(route, role: str | None, trained: bool):
    """What the table says this caller should get: a status or 'allowed'/'open'."""
    if route.roles is None:
        return "open"
    if role is None:
        return 401 if route.api else "login"
    if role not in route.roles or (route.trained and not trained):
        return 403
    return "allowed"


async def call(c, http, route, role, trained):
    url = concrete(route.path, c.read_id)
    headers = {}
    if role is not None:
        name = role[:4] if trained else f"new{role[:4]}"
        headers, csrf = c.session(name, PURPOSES[role])
        if route.api and route.purpose and PURPOSES[role]:
            kind, text, case = PURPOSES[role]
            url += "?" + urlencode({"purpose_kind": kind, "purpose": text,
                                    "case_number": case or ""})
    kwargs = {"headers": headers, "allow_redirects": False}
    if route.method != "GET":
        kwargs["json" if route.api else "data"] = {} if route.api else {"x": "1"}
    async with http.request(route.method, c.url(url), **kwargs) as resp:
        await resp.read()
        return resp.status, resp.headers.get("Location", "")


def check(route, role, trained, status, location):
    want = expected(route, role, trained)
    who = (role or "anonymous") + ("" if trained else " (untrained)")
    cell = f"{route.method} {route.path} as {who}"
    assert status < 500, f"{cell}: server error {status}"
    if want == "login":
        assert status == 303 and location.startswith("/login"), f"{cell}: {status} {location}"
    elif want == "allowed":
        assert status not in (401, 403), f"{cell}: refused with {status}"
        assert not (status == 303 and location.startswith(READINESS_PAGES)), f"{cell}: {location}"
        if route.method == "GET" and "{" not in route.path and route.path != "/":
            assert status == 200, f"{cell}: {status}"
    elif want != "open":
        assert status == want, f"{cell}: expected {want}, got {status}"


async def test_every_route_times_every_role(console):
    callers = [(None, True)] + [(r, t) for r in ROLES for t in (True, False)]
    async with client() as http:
        for route in ROUTES:
            for role, trained in callers:
                status, location = await call(console, http, route, role, trained)
                check(route, role, trained, status, location)


KNOWN = [  # written out by hand, independent of the table's own code path
    ("GET", "/api/v1/reads", None, True, 401),
    ("GET", "/search", None, True, 303),
    ("GET", "/search", "technician", True, 403),
    ("GET", "/api/v1/reads", "technician", True, 403),
    ("GET", "/search", "investigator", True, 200),
    ("GET", "/live", "investigator", True, 403),
    ("GET", "/live", "technician", True, 200),
    ("GET", "/audit", "auditor", True, 200),
    ("GET", "/audit", "investigator", True, 403),
    ("GET", "/users", "auditor", True, 403),
    ("GET", "/users", "admin", True, 200),
    ("GET", "/reads", "admin", True, 403),
    ("GET", "/settings", "technician", True, 200),
    ("GET", "/settings", "investigator", True, 403),
    ("GET", "/search", "investigator", False, 403),
    ("GET", "/status", "investigator", False, 403),
    ("GET", "/policy", "investigator", False, 200),
    ("GET", "/me", "investigator", False, 200),
    ("GET", "/api/v1/me", "technician", False, 200),
    ("GET", "/login", None, True, 200),
]


@pytest.mark.parametrize("method,path,role,trained,status", KNOWN)
async def test_known_cells(console, method, path, role, trained, status):
    route = next(r for r in ROUTES if (r.method, r.path) == (method, path))
    async with client() as http:
        got, _ = await call(console, http, route, role, trained)
    assert got == status


async def test_app_registers_only_table_routes(console):
    registered = {(r.method, r.resource.canonical) for r in console.server.app.router.routes()
                  if r.method != "HEAD" and not r.resource.canonical.startswith("/static")}
    assert registered == {(r.method, r.path) for r in ROUTES}
