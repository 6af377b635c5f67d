"""Pages about the unit itself: status, live aiming view, camera and IR settings, hotlists."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from webadmin.context import CTX, SERVICES, USER, render
from webadmin.settings import SETTINGS, SettingsError, SettingsNotSaved, validate_changes
from webadmin.snapshot import annotate, utc_iso

logger = logging.getLogger(__name__)


async def status(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    return render(request, "status.html", {"health": svc.health(), "store": svc.store.stats()})


async def live(request: web.Request) -> web.StreamResponse:
    refresh = request.app[SERVICES].config.console.snapshot_refresh_s
    return render(request, "live.html", {"refresh_ms": int(refresh * 1000)})


async def snapshot(request: web.Request) -> web.StreamResponse:
    """The newest frame with detection boxes and plate text drawn on: access-logged."""
    svc = request.app[SERVICES]
    frame = svc.snapshot()
    if frame is None:
        return web.Response(status=503, text="No frame yet: the camera is starting or lost.")
    plates = [text for _, text, _ in frame.detections if text]
    svc.store.record_access(request[CTX], "live-snapshot",
                            terms={"plates": plates, "frame_utc": utc_iso(frame.wall_time)},
                            result_count=len(frame.detections))
    jpeg = await asyncio.get_running_loop().run_in_executor(None, annotate, frame)
    return web.Response(body=jpeg, content_type="image/jpeg")


def settings_context(svc, error: str | None = None, values: dict | None = None) -> dict:
    current = svc.camera.get()
    return {"fields": SETTINGS, "current": current, "values": values or current, "error": error}


async def settings_form(request: web.Request) -> web.StreamResponse:
    return render(request, "settings.html", settings_context(request.app[SERVICES]))


async def settings_apply(request: web.Request) -> web.StreamResponse:
    svc, user = request.app[SERVICES], request[USER]
    form = await request.post()
    raw = {key: str(form[key]) for key in SETTINGS if key in form}
    try:
        apply_settings(svc, user, validate_changes(svc.config, svc.camera.get(), raw))
    except SettingsError as exc:
        status = 503 if isinstance(exc, SettingsNotSaved) else 400
        return render(request, "settings.html", settings_context(svc, str(exc), raw), status=status)
    raise web.HTTPSeeOther("/settings?ok=1")


def apply_settings(svc, user, changes: dict) -> dict:
    """Apply live (the unit also saves them) and log who changed what (a security event)."""
    before = svc.camera.get()
    try:
        after = svc.camera.apply(changes)
    except OSError as exc:  # the unit saves before applying: nothing changed
        logger.error("camera/IR settings from %s not saved: %s", user.username, exc)
        raise SettingsNotSaved(f"settings not saved on the unit ({exc.strerror or exc}); "
                               "nothing was changed") from None
    diff = {k: {"from": before.get(k), "to": after.get(k)} for k in changes
            if before.get(k) != after.get(k)}
    svc.store.log_event("config-change", {"section": "camera/ir", "changes": diff},
                        user=user.username, organisation=user.organisation)
    logger.info("camera/IR settings changed by %s: %s", user.username, diff)
    return after


async def hotlist(request: web.Request) -> web.StreamResponse:
    return render(request, "hotlist.html", {"hotlist": request.app[SERVICES].hotlist_status()})
