"""Headless Chromium against the real HTTPS console: the main journeys of each role.

Screenshots go to tmp_path; set ALPR_SCREENSHOT_DIR=docs/screenshots to refresh the docs' copies.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

import pytest
from console_support import PASSWORD, make_alert, make_read, open_store, start_console

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.slow, pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="Debian's chromium is not installed (apt-get install chromium)"),
]


@pytest.fixture
async def console(tmp_path):
    store = open_store(tmp_path)
    now = time.time()
    reads = [make_read(p, now - 600 + i * 60) for i, p in enumerate(("7ABC123", "7ABD999",
                                                                      "5XYZ001"))]
    for r in reads:
        store.add_read(r)
    store.add_alert(make_alert(reads[0]))
    c = await start_console(tmp_path, store)
    c.reads = reads
    yield c
    await c.server.close()
    c.accounts.close()
    store.close()


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        await b.close()


class Shots:
    def __init__(self, tmp_path):
        self.dir = tmp_path / "screenshots"
        self.dir.mkdir()
        self.publish = os.environ.get("ALPR_SCREENSHOT_DIR")

    async def take(self, page, name):
        path = self.dir / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        if self.publish:
            Path(self.publish).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(self.publish) / path.name)


async def sign_in(browser, c, username, password):
    ctx = await browser.new_context(ignore_https_errors=True, viewport={"width": 1280,
                                                                         "height": 800})
    page = await ctx.new_page()
    await page.goto(c.url("/login"))
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button.primary")
    return ctx, page


async def test_console_journeys(console, browser, tmp_path):
    c = console
    shots = Shots(tmp_path)
    today = dt.date.today()
    # 1. First admin: one-time password, forced change, policy acknowledgement.
    one_time = c.accounts.create_user("chief", "admin", "Example PD", full_name="Chief Admin")
    c.accounts.add_training("chief", "ALPR policy and use", today, today + dt.timedelta(days=365),
                            "unit shell")
    ctx, page = await sign_in(browser, c, "chief", one_time)
    await shots.take(page, "01-password-change")
    assert "/password" in page.url
    await page.fill("input[name=current]", one_time)
    await page.fill("input[name=new]", PASSWORD)
    await page.fill("input[name=confirm]", PASSWORD)
    await page.click("button.primary")
    assert "/policy" in page.url
    await shots.take(page, "02-policy")
    await page.click("#ack")
    assert page.url.endswith("/users")
    await page.fill("form[action='/users'] input[name=username]", "tina")
    await page.fill("form[action='/users'] input[name=full_name]", "Tina Technician")
    await page.select_option("form[action='/users'] select[name=role]", "technician")
    await page.click("form[action='/users'] button.primary")
    tina_otp = (await page.text_content("#otp")).strip()
    await shots.take(page, "03-users")
    await ctx.close()
    assert c.accounts.get_user("tina").must_change_password and len(tina_otp) >= 16

    # 2. A technician (trained) changes the exposure and aims with the live view.
    c.user("tech", "technician")
    ctx, page = await sign_in(browser, c, "tech", PASSWORD)
    assert page.url.endswith("/status")
    await shots.take(page, "04-status")
    await page.goto(c.url("/settings"))
    await page.fill("input[name='camera.exposure_us']", "1500")
    await page.click("button.primary")
    assert c.camera.get()["camera.exposure_us"] == 1500
    await page.goto(c.url("/live"))
    assert "/purpose" in page.url
    await page.select_option("select[name=purpose_kind]", "maintenance")
    await page.fill("input[name=purpose]", "aiming after installation")
    await page.click("button.primary")
    assert page.url.endswith("/live")
    for _ in range(50):  # CSP forbids eval, so poll instead of wait_for_function
        if await page.locator("#snapshot").evaluate("img => img.complete && img.naturalWidth"):
            break
        await page.wait_for_timeout(100)
    else:
        pytest.fail("the live snapshot never loaded")
    await shots.take(page, "05-live")
    await ctx.close()

    # 3. An investigator searches with a purpose and case number, then places a hold.
    c.user("ivan", "investigator")
    ctx, page = await sign_in(browser, c, "ivan", PASSWORD)
    assert "/purpose" in page.url  # the landing page shows reads: purpose first
    await shots.take(page, "06-purpose")
    await page.select_option("select[name=purpose_kind]", "investigation")
    await page.fill("input[name=purpose]", "stolen vehicle report")
    await page.fill("input[name=case_number]", "CASE-2026-17")
    await page.click("button.primary")
    await page.fill("#plate", "7AB*")
    await page.click("form[action='/search'] button.primary")
    body = await page.text_content("main")
    assert "7ABC123" in body and "7ABD999" in body and "5XYZ001" not in body
    await shots.take(page, "07-search")
    await page.click("text=details >> nth=0")
    await page.fill("input[name=reason]", "vehicle used in robbery")
    await page.click("#hold")
    assert page.url.endswith("/holds?ok=placed")
    await shots.take(page, "08-holds")
    await page.goto(c.url("/alerts"))
    assert "UNVERIFIED" in await page.text_content("main")
    await ctx.close()

    # 4. An auditor sees exactly those accesses.
    c.user("audrey", "auditor")
    ctx, page = await sign_in(browser, c, "audrey", PASSWORD)
    await page.select_option("select[name=purpose_kind]", "audit")
    await page.fill("input[name=purpose]", "monthly access audit")
    await page.click("button.primary")
    assert page.url.endswith("/audit")
    await shots.take(page, "09-audit")
    rows = await page.locator("table.data tbody tr").all_text_contents()
    ivan = [r for r in rows if "ivan" in r]
    tech = [r for r in rows if "tech" in r and "live-snapshot" in r]
    assert any("search" in r and "7AB*" in r and "CASE-2026-17" in r for r in ivan)
    assert any("hold_placed" in r for r in ivan)
    assert any("view" in r for r in ivan)
    assert any("alerts" in r for r in ivan)
    assert tech and all("maintenance: aiming after installation" in r for r in tech)
    assert not any("audrey" in r and "search" in r for r in rows)
    await ctx.close()
