"""Signing in over real HTTPS: one-time password, policy, CSRF, cookies, headers, throttling."""

from __future__ import annotations

import time

import pytest
from aiohttp.test_utils import TestServer
from console_support import PASSWORD, client, form_csrf, open_store, start_console

from webadmin.server import redirect_app

ROLES = ("admin", "technician", "investigator", "auditor")


class Clock:
    def __init__(self):
        self.t = time.time()

    def __call__(self):
        return self.t


@pytest.fixture
async def console(tmp_path):
    store = open_store(tmp_path)
    clock = Clock()
    c = await start_console(tmp_path, store, clock=clock)
    c.clock = clock
    yield c
    await c.server.close()
    c.accounts.close()
    store.close()


async def sign_in(http, c, username, password, next_path=""):
    async with http.get(c.url(f"/login?next={next_path}")) as resp:
        token = form_csrf(await resp.text())
    return await http.post(c.url("/login"), allow_redirects=False, data={
        "csrf": token, "username": username, "password": password, "next": next_path})


async def test_first_sign_in_forces_password_change_then_policy(console):
    c = console
    one_time = c.accounts.create_user("chief", "admin", "Example PD")
    c.user("placeholder", "auditor")  # the table is not empty
    import datetime as dt
    today = dt.date.today()
    c.accounts.add_training("chief", "ALPR policy", today, today + dt.timedelta(days=365), "cli")
    async with client(cookies=True) as http:
        resp = await sign_in(http, c, "chief", one_time, "/users")
        assert resp.status == 303 and resp.headers["Location"] == "/users"
        cookie = resp.headers["Set-Cookie"]
        for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
            assert flag in cookie
        assert cookie.startswith("__Host-alpr=")
        resp = await http.get(c.url("/users"), allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/password?next=")
        page = await (await http.get(c.url("/password"))).text()
        assert "one-time password" in page
        resp = await http.post(c.url("/password"), allow_redirects=False, data={
            "csrf": form_csrf(page), "current": one_time, "new": PASSWORD,
            "confirm": PASSWORD, "next": "/users"})
        assert resp.status == 303
        resp = await http.get(c.url("/users"), allow_redirects=False)
        assert resp.headers["Location"].startswith("/policy?next=")
        page = await (await http.get(c.url("/policy"))).text()
        assert "Lt. Ada Example, Records" in page  # the named ALPR administrator
        resp = await http.post(c.url("/policy"), allow_redirects=False,
                               data={"csrf": form_csrf(page), "next": "/users"})
        assert resp.status == 303 and resp.headers["Location"] == "/users"
        resp = await http.get(c.url("/users"))
        assert resp.status == 200 and "chief" in await resp.text()
    assert not c.accounts.get_user("chief").must_change_password
    assert c.accounts.get_user("chief").policy_ack_sha256 == c.policy_sha


async def test_login_form_needs_its_token_and_wrong_password_is_401(console):
    c = console
    c.user("ann", "auditor")
    async with client(cookies=True) as http:
        resp = await http.post(c.url("/login"), allow_redirects=False,
                               data={"username": "ann", "password": PASSWORD})
        assert resp.status == 403
        resp = await sign_in(http, c, "ann", "wrong password!")
        assert resp.status == 401 and "Wrong user name" in await resp.text()
        resp = await sign_in(http, c, "ann", PASSWORD, "//evil.example/")
        assert resp.status == 303 and resp.headers["Location"] == "/"  # no open redirect


async def test_state_changes_need_the_session_csrf_token(console):
    c = console
    c.user("tina", "technician")
    headers, csrf = c.session("tina")
    before = c.camera.get()
    async with client() as http:
        for bad in ({}, {"csrf": "forged"}):
            h = {"Cookie": headers["Cookie"]}
            resp = await http.post(c.url("/settings"), headers=h, allow_redirects=False,
                                   data={"camera.exposure_us": "2000", **bad})
            assert resp.status == 403
        assert c.camera.get() == before
        resp = await http.post(c.url("/settings"), headers={"Cookie": headers["Cookie"]},
                               data={"camera.exposure_us": "2000", "csrf": csrf},
                               allow_redirects=False)
        assert resp.status == 303 and c.camera.get()["camera.exposure_us"] == 2000


async def test_security_headers_and_no_fingerprints(console):
    async with client() as http:
        for path in ("/login", "/no/such/page", "/static/console.css", "/api/v1/nothing"):
            resp = await http.get(console.url(path), allow_redirects=False)
            body = await resp.text()
            h = resp.headers
            assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
            assert h["X-Frame-Options"] == "DENY" and h["X-Content-Type-Options"] == "nosniff"
            assert h["Referrer-Policy"] == "no-referrer"
            assert h.get("Server", "") == ""
            for leak in ("aiohttp", "Python", "Traceback", "jinja"):
                assert leak not in body, (path, leak)
        resp = await http.get(console.url("/no/such/page"))
        assert resp.status == 404


async def test_server_errors_show_no_trace(tmp_path):
    def broken():
        raise RuntimeError("sensor bus exploded at 0xdeadbeef")

    store = open_store(tmp_path)
    c = await start_console(tmp_path, store, health_provider=broken)
    c.user("tina", "technician")
    headers, _ = c.session("tina")
    async with client() as http:
        for path in ("/status", "/api/v1/status"):
            resp = await http.get(c.url(path), headers=headers)
            body = await resp.text()
            assert resp.status == 500
            assert "deadbeef" not in body and "Traceback" not in body and "RuntimeError" not in body
    await c.server.close()
    store.close()


async def test_password_guessing_is_throttled_and_the_account_locked(console):
    """1,000 guesses: only max_failed_logins are checked per lockout period, then 429."""
    c = console
    c.user("ivan", "investigator")
    statuses = []
    async with client() as http:
        for i in range(1000):
            async with http.post(c.url("/api/v1/session"),
                                 json={"username": "ivan", "password": f"guess-{i:04d}"}) as r:
                statuses.append(r.status)
        assert statuses[:5] == [401] * 5 and statuses[5:] == [429] * 995
        async with http.post(c.url("/api/v1/session"),
                             json={"username": "ivan", "password": PASSWORD}) as r:
            assert r.status == 429 and int(r.headers["Retry-After"]) <= 15 * 60 + 1
        c.clock.t += 15 * 60 + 1  # the documented lockout ends
        async with http.post(c.url("/api/v1/session"),
                             json={"username": "ivan", "password": PASSWORD}) as r:
            assert r.status == 201


async def test_idle_session_expires(console):
    c = console
    c.user("ann", "auditor")
    headers, _ = c.session("ann")
    async with client() as http:
        assert (await http.get(c.url("/status"), headers=headers)).status == 200
        c.clock.t += 15 * 60 + 5
        resp = await http.get(c.url("/status"), headers=headers, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/login")


async def test_untrained_user_sees_only_policy_and_own_training(console):
    c = console
    c.user("newbie", "investigator", trained=False)
    headers, _ = c.session("newbie", ("investigation", "case work", "C-1"))
    async with client() as http:
        resp = await http.get(c.url("/"), headers=headers, allow_redirects=False)
        assert resp.headers["Location"] == "/me"
        page = await (await http.get(c.url("/me"), headers=headers)).text()
        assert "no current training record" in page
        for path in ("/search", "/status", "/alerts", "/api/v1/reads"):
            resp = await http.get(c.url(path), headers=headers, allow_redirects=False)
            assert resp.status == 403, path


async def test_plain_http_only_redirects(tmp_path):
    server = TestServer(redirect_app(8443), host="127.0.0.1")
    await server.start_server()
    async with client() as http:
        resp = await http.get(server.make_url("/search?plate=X"), allow_redirects=False)
        assert resp.status == 301
        assert resp.headers["Location"] == "https://127.0.0.1:8443/"
    await server.close()


async def test_totp_enrolment_then_sign_in_needs_the_code(console):
    import re

    import pyotp

    c = console
    c.user("ann", "auditor")
    headers, csrf = c.session("ann")
    async with client() as http:
        page = await (await http.post(c.url("/me/totp"), headers=headers,
                                      data={"csrf": csrf, "action": "begin"})).text()
        secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page).group(1)
        resp = await http.post(c.url("/me/totp"), headers=headers, allow_redirects=False, data={
            "csrf": csrf, "action": "confirm", "secret": secret,
            "code": pyotp.TOTP(secret).at(c.clock.t)})
        assert resp.status == 303
    assert c.accounts.get_user("ann").totp_enabled
    async with client(cookies=True) as http:
        resp = await sign_in(http, c, "ann", PASSWORD)
        assert resp.status == 401 and "authenticator" in await resp.text()
        async with http.get(c.url("/login")) as r:
            token = form_csrf(await r.text())
        resp = await http.post(c.url("/login"), allow_redirects=False, data={
            "csrf": token, "username": "ann", "password": PASSWORD,
            "totp": pyotp.TOTP(secret).at(c.clock.t)})
        assert resp.status == 303


async def test_a_new_policy_version_must_be_acknowledged_again(console):
    c = console
    c.user("ann", "auditor")
    c.accounts.acknowledge_policy("ann", "0" * 64)  # an older policy version
    headers, _ = c.session("ann")
    async with client() as http:
        resp = await http.get(c.url("/status"), headers=headers, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/policy?next=")
        resp = await http.get(c.url("/api/v1/status"), headers=headers)
        assert resp.status == 403 and "/policy" in (await resp.json())["error"]
