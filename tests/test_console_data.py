"""Purpose before data: every view of plate data is access-logged with its terms."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from console_support import client, make_alert, make_read, open_store, start_console

from storage.types import AccessContext
from webadmin.routes import ROUTES

AUDIT = AccessContext("auditor-test", "Example PD", "auditor", "audit: test check")
INV = ("investigation", "stolen vehicle report", "CASE-2026-17")


@pytest.fixture
async def console(tmp_path):
    store = open_store(tmp_path)
    now = time.time()
    reads = [make_read(p, now - 3600 + i) for i, p in enumerate(("7ABC123", "7ABD999", "5XYZ001"))]
    for r in reads:
        store.add_read(r)
    store.add_alert(make_alert(reads[0]))
    c = await start_console(tmp_path, store)
    for role in ("admin", "technician", "investigator", "auditor"):
        c.user(role[:3], role)
    c.reads = reads
    yield c
    await c.server.close()
    c.accounts.close()
    store.close()


def log(c) -> list[dict]:
    return [e for e in c.store.access_log(AUDIT) if e["action"] != "audit_view"]


async def test_search_needs_a_purpose_with_case_number_and_is_logged(console):
    c = console
    headers, csrf = c.session("inv")
    async with client() as http:
        resp = await http.get(c.url("/search?plate=7AB*"), headers=headers, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/purpose?next=")
        resp = await http.post(c.url("/purpose"), headers=headers, data={
            "csrf": csrf, "purpose_kind": "investigation", "purpose": "stolen car"})
        assert resp.status == 400 and "case number" in await resp.text()
        resp = await http.post(c.url("/purpose"), headers=headers, allow_redirects=False, data={
            "csrf": csrf, "purpose_kind": "investigation", "purpose": "stolen car",
            "case_number": "CASE-9", "next": "/search?plate=7AB*"})
        assert resp.headers["Location"] == "/search?plate=7AB*"
        page = await (await http.get(c.url("/search?plate=7ab*"), headers=headers)).text()
    assert "7ABC123" in page and "7ABD999" in page and "5XYZ001" not in page
    entry = log(c)[-1]
    assert entry["action"] == "search" and entry["terms"]["pattern"] == "7AB*"
    assert entry["user"] == "inv" and entry["case_number"] == "CASE-9"
    assert entry["purpose"] == "investigation: stolen car" and entry["result_count"] == 2


async def test_api_reads_401_anonymous_400_without_purpose_logged_with_it(console):
    c = console
    headers, _ = c.session("inv")
    async with client() as http:
        assert (await http.get(c.url("/api/v1/reads?plate=7ABC123"))).status == 401
        resp = await http.get(c.url("/api/v1/reads?plate=7ABC123"), headers=headers)
        assert resp.status == 400 and "purpose" in (await resp.json())["error"]
        since = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 7200))
        resp = await http.get(c.url("/api/v1/reads"), headers=headers, params={
            "plate": "7ABC123", "since": since, "purpose_kind": "investigation",
            "purpose": "robbery", "case_number": "C-77"})
        reads = (await resp.json())["reads"]
    assert [r["plate"] for r in reads] == ["7ABC123"] and "crop_jpeg" not in reads[0]
    entry = log(c)[-1]
    assert entry["terms"]["plate"] == "7ABC123" and entry["source"] == "api"
    assert entry["case_number"] == "C-77" and entry["terms"]["since"] is not None


@pytest.mark.parametrize("query,msg", [
    ("plate=7A*", "time range"), ("plate=%3C%3E", "plate"), ("since=yesterday", "since"),
    ("plate=7ABC123&limit=0", "limit")])
async def test_bad_search_terms_are_named(console, query, msg):
    c = console
    headers, _ = c.session("inv", INV)
    async with client() as http:
        resp = await http.get(c.url(f"/search?{query}"), headers=headers)
        assert resp.status == 400 and msg in await resp.text()


async def test_no_response_carries_plates_without_an_access_log_entry(console):
    """Every GET of every role: a body showing a plate must come with a new log entry."""
    c = console
    purposes = {"tec": ("maintenance", "aiming", None), "inv": INV,
                "aud": ("audit", "monthly audit", None), "adm": ("release", "review", None)}
    plates = [r.plate for r in c.reads] + ["7ABC123"]
    checked = 0
    async with client() as http:
        for route in ROUTES:
            if route.method != "GET" or route.path == "/api/v1/openapi.json":
                continue
            path = route.path.replace("{read_id}", c.reads[0].read_id).replace("{image}", "crop")
            for name, purpose in purposes.items():
                headers, _ = c.session(name, purpose)
                if route.api and route.purpose:
                    kind, text, case = purpose
                    path_q = f"{path}?purpose_kind={kind}&purpose={text}&case_number={case or ''}"
                else:
                    path_q = path
                before = len(c.store.access_log(AUDIT))
                async with http.get(c.url(path_q), headers=headers, allow_redirects=False) as r:
                    body = await r.read()
                after = len(c.store.access_log(AUDIT))
                shows = any(p.encode() in body for p in plates) or r.content_type == "image/jpeg"
                if shows:
                    checked += 1
                    assert after > before + 1, f"{route.path} as {name}: plate data, no log entry"
    assert checked >= 10


async def test_alerts_carry_the_unverified_notice(console):
    c = console
    headers, _ = c.session("inv", INV)
    async with client() as http:
        page = await (await http.get(c.url("/alerts"), headers=headers)).text()
    assert "UNVERIFIED" in page and "CLETS" in page and "7ABC123" in page


async def test_hold_evidence_export_and_release_register(console):
    c = console
    inv, inv_csrf = c.session("inv", INV)
    adm, adm_csrf = c.session("adm", ("release", "deciding requests", None))
    read_id = c.reads[0].read_id
    async with client() as http:
        resp = await http.post(c.url("/holds"), headers=inv, allow_redirects=False, data={
            "csrf": inv_csrf, "read_ids": read_id, "reason": "evidence in robbery"})
        assert resp.status == 303
        page = await (await http.get(c.url("/holds"), headers=inv)).text()
        assert read_id[:8] in page and "CASE-2026-17" in page
        resp = await http.post(c.url("/evidence"), headers=inv, data={"csrf": inv_csrf})
        assert resp.status == 200 and resp.content_type == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(await resp.read())).namelist()
        assert names
        resp = await http.post(c.url("/evidence"), headers=inv, data={
            "csrf": inv_csrf, "recipient_agency": "Other County DA"})
        assert resp.status == 403  # outside the agency: needs an approved request
        resp = await http.post(c.url("/releases"), headers=inv, allow_redirects=False, data={
            "csrf": inv_csrf, "requesting_agency": "Other County DA",
            "agency_type": "prosecutorial", "requester": "DDA Smith", "purpose": "trial"})
        assert resp.status == 303
        resp = await http.post(c.url("/releases/1/decide"), headers=adm, allow_redirects=False,
                               data={"csrf": adm_csrf, "decision": "approved", "note": "ok"})
        assert resp.status == 303
        resp = await http.post(c.url("/evidence"), headers=inv, data={
            "csrf": inv_csrf, "recipient_agency": "Other County DA", "release_request_id": "1"})
        assert resp.status == 200
        page = await (await http.get(c.url("/releases"), headers=adm)).text()
        assert "approved" in page and "fulfilled" in page
    actions = [e["action"] for e in log(c)]
    for action in ("hold_placed", "evidence_export", "release_request", "release_decision"):
        assert action in actions


async def test_camera_settings_validated_applied_and_logged(console):
    c = console
    headers, csrf = c.session("tec")
    async with client() as http:
        for bad, msg in (({"camera.exposure_us": "10"}, "exposure_us"),
                         ({"gpio.ir_off_above": "20"}, "ir_off_above"),
                         ({"gpio.illuminator_mode": "disco"}, "illuminator_mode"),
                         ({"camera.exposure_us": "abc"}, "exposure_us")):
            resp = await http.post(c.url("/settings"), headers=headers, data={"csrf": csrf, **bad})
            assert resp.status == 400 and msg in await resp.text(), bad
        assert c.camera.history == []
        resp = await http.put(c.url("/api/v1/settings"), headers=headers,
                              json={"camera.exposure_us": 800, "gpio.illuminator_mode": "on"})
        assert resp.status == 200 and (await resp.json())["gpio.illuminator_mode"] == "on"
    assert c.camera.get()["camera.exposure_us"] == 800
    change = [e for e in log(c) if e["action"] == "config-change"][-1]
    assert change["user"] == "tec"
    assert change["detail"]["changes"]["camera.exposure_us"] == {"from": 1000, "to": 800}


async def test_auditor_report_csv_lists_accesses(console):
    c = console
    inv, _ = c.session("inv", INV)
    aud, _ = c.session("aud", ("audit", "monthly audit", None))
    async with client() as http:
        await http.get(c.url("/search?plate=5XYZ001"), headers=inv)
        page = await (await http.get(c.url("/audit"), headers=aud)).text()
        assert "5XYZ001" in page and "hash chain verifies" in page
        assert "Summary by user" in page
        resp = await http.get(c.url("/audit/report.csv"), headers=aud)
        text = await resp.text()
    assert resp.content_type == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    assert "5XYZ001" in text and "CASE-2026-17" in text and text.startswith("seq,utc,user")
