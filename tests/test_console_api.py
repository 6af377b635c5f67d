"""The JSON API: bearer sessions, OpenAPI document, and schemathesis fuzzing of every operation."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import requests
import schemathesis
from console_support import PASSWORD, client, make_alert, make_read, open_store, start_console
from hypothesis import HealthCheck, given, settings

from webadmin.openapi import build_openapi
from webadmin.routes import ROUTES

INV_Q = {"purpose_kind": "investigation", "purpose": "robbery", "case_number": "C-1"}


@pytest.fixture
async def console(tmp_path):
    store = open_store(tmp_path)
    read = make_read("7ABC123", time.time() - 60)
    store.add_read(read)
    store.add_alert(make_alert(read))
    c = await start_console(tmp_path, store)
    c.read = read
    yield c
    await c.server.close()
    c.accounts.close()
    store.close()


async def test_bearer_session_flow_and_hold_via_api(console):
    c = console
    otp = c.accounts.create_user("ivy", "investigator", "Example PD")
    c.user("placeholder", "auditor")
    import datetime as dt
    today = dt.date.today()
    c.accounts.add_training("ivy", "ALPR", today, today + dt.timedelta(days=30), "admin")
    async with client() as http:
        r = await http.post(c.url("/api/v1/session"), json={"username": "ivy", "password": otp})
        body = await r.json()
        assert r.status == 201 and body["must_change_password"]
        auth = {"Authorization": f"Bearer {body['token']}"}
        r = await http.get(c.url("/api/v1/reads"), headers=auth, params=INV_Q)
        assert r.status == 403  # password change first
        r = await http.post(c.url("/api/v1/me/password"), headers=auth,
                            json={"current": otp, "new": PASSWORD})
        auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
        policy = await (await http.get(c.url("/api/v1/policy"), headers=auth)).json()
        assert policy["alpr_administrator"] == "Lt. Ada Example, Records"
        r = await http.post(c.url("/api/v1/policy/ack"), headers=auth,
                            json={"sha256": policy["sha256"]})
        assert r.status == 204
        r = await http.get(c.url("/api/v1/alerts"), headers=auth, params=INV_Q)
        alert = (await r.json())["alerts"][0]
        assert alert["notice"].startswith("UNVERIFIED") and alert["plate"] == "7ABC123"
        r = await http.post(c.url("/api/v1/holds"), headers=auth, params=INV_Q,
                            json={"read_ids": [c.read.read_id], "reason": "evidence"})
        assert r.status == 201
        hold = (await r.json())["holds"][0]
        assert hold["case_number"] == "C-1"
        r = await http.post(c.url("/api/v1/evidence"), headers=auth, params=INV_Q, json={})
        assert r.status == 200 and r.content_type == "application/zip"
        r = await http.delete(c.url("/api/v1/session"), headers=auth)
        assert r.status == 204
        r = await http.get(c.url("/api/v1/me"), headers=auth)
        assert r.status == 401


async def test_openapi_document_lists_every_api_route(console):
    c = console
    c.user("ann", "auditor")
    headers, _ = c.session("ann")
    async with client() as http:
        assert (await http.get(c.url("/api/v1/openapi.json"))).status == 401
        doc = await (await http.get(c.url("/api/v1/openapi.json"), headers=headers)).json()
    ops = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert ops == {(r.method, r.path) for r in ROUTES if r.api}
    reads = doc["paths"]["/api/v1/reads"]["get"]
    assert {p["name"] for p in reads["parameters"]} >= {"plate", "since", "purpose_kind"}


class ThreadedConsole:
    """The console on its own event loop thread, so schemathesis can call it synchronously."""

    def __init__(self, tmp_path):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.c = self.run(self._start(tmp_path))

    async def _start(self, tmp_path):
        store = open_store(tmp_path)
        read = make_read("7ABC123", time.time() - 60)
        store.add_read(read)
        store.add_alert(make_alert(read))
        c = await start_console(tmp_path, store)
        for role in ("admin", "technician", "investigator", "auditor"):
            c.user(role, role)
        return c

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def close(self):
        self.run(self.c.server.close())
        self.c.accounts.close()
        self.c.store.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.mark.slow
def test_fuzzed_api_never_answers_5xx(tmp_path):
    """≥ 1,000 schemathesis-generated requests (valid and invalid) over every operation."""
    server = ThreadedConsole(tmp_path)
    c = server.c
    base = c.url("/").rstrip("/")
    schema = schemathesis.openapi.from_dict(build_openapi())
    calls, errors = [], []
    http = requests.Session()  # keep-alive: the TLS handshake once, not per request
    http.verify = str(tmp_path / "keys" / "console.crt")
    try:
        for result in schema.get_all_operations():
            op = result.ok()
            roles = op.definition.raw.get("x-roles", ["anonymous"])
            role = roles[0] if roles[0] != "anonymous" else None
            for mode, examples in ((schemathesis.GenerationMode.POSITIVE, 25),
                                   (schemathesis.GenerationMode.NEGATIVE, 15)):
                _fuzz(op, mode, examples, c, base, role, calls, errors, http)
    finally:
        http.close()
        server.close()
    assert not errors, errors[:5]
    print(f"fuzzed requests: {len(calls)}")
    assert len(calls) >= 1000, len(calls)


def _fuzz(op, mode, examples, c, base, role, calls, errors, http):
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case):
        headers = {}
        if role:
            headers = {"Authorization": "Bearer " + _token(c, role)}
        response = case.call(base_url=base, headers=headers, session=http, verify=http.verify,
                             timeout=30)
        calls.append(response.status_code)
        if response.status_code >= 500:
            errors.append((op.method, op.path, response.status_code, response.text[:200]))

    run()


def _token(c, role: str) -> str:
    token, _ = c.accounts.create_session(role, "127.0.0.1")
    return token
