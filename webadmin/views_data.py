"""ALPR data pages: recent reads, search, one read, alerts, holds, evidence, release register.

Every store call here passes the request's AccessContext, so the store logs it with its terms.
"""

from __future__ import annotations

import logging

from aiohttp import web

from webadmin import data
from webadmin.context import CTX, SERVICES, render

logger = logging.getLogger(__name__)


async def recent(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    reads = data.search(svc, request[CTX], {"limit": "50"})
    return render(request, "reads.html", {"reads": reads, "title": "Recent reads"})


async def search(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    query = {k: v for k, v in request.query.items() if v}
    ctx = {"query": query, "reads": None, "title": "Search"}
    if any(k in query for k in ("plate", "since", "until", "hits")):
        try:
            ctx["reads"] = data.search(svc, request[CTX], query)
        except data.QueryError as exc:
            ctx["error"] = str(exc)
            return render(request, "search.html", ctx, status=400)
    return render(request, "search.html", ctx)


async def read_detail(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    read = data.get_read(svc, request[CTX], request.match_info["read_id"])
    return render(request, "read.html", {"read": read})


async def read_image(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    image = request.match_info["image"]
    if image not in ("crop", "frame"):
        raise web.HTTPNotFound()
    read = data.get_read(svc, request[CTX], request.match_info["read_id"], images=True)
    body = read.get(f"{image}_jpeg")
    if not body:
        raise web.HTTPNotFound()
    return web.Response(body=body, content_type="image/jpeg")


async def alerts(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    return render(request, "alerts.html", {"alerts": data.alerts(svc, request[CTX])})


def _holds_page(request, status=200, **extra):
    """The holds page (also where hold and evidence forms report their errors)."""
    svc = request.app[SERVICES]
    return render(request, "holds.html", {"holds": data.holds(svc, request[CTX]), **extra},
                  status=status)


async def holds(request: web.Request) -> web.StreamResponse:
    return _holds_page(request)


async def hold_place(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    form = await request.post()
    try:
        data.place_hold(svc, request[CTX], dict(form))
    except data.QueryError as exc:
        return _holds_page(request, 400, error=str(exc))
    raise web.HTTPSeeOther("/holds?ok=placed")


async def hold_release(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    form = await request.post()
    try:
        data.release_hold(svc, request[CTX], request.match_info["hold_id"],
                          str(form.get("reason", "")))
    except data.QueryError as exc:
        return _holds_page(request, 400, error=str(exc))
    raise web.HTTPSeeOther("/holds?ok=released")


async def evidence_export(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    form = await request.post()
    try:
        name, body = data.export_evidence(svc, request[CTX], dict(form))
    except data.QueryError as exc:
        return _holds_page(request, 400, error=str(exc))
    return web.Response(body=body, content_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


def _releases_page(request, status=200, **extra):
    svc = request.app[SERVICES]
    return render(request, "releases.html", {
        "releases": data.release_requests(svc, request[CTX]),
        "agency_types": data.AGENCY_TYPES, **extra}, status=status)


async def releases(request: web.Request) -> web.StreamResponse:
    return _releases_page(request)


async def release_request(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    form = await request.post()
    try:
        data.record_release(svc, request[CTX], dict(form))
    except data.QueryError as exc:
        return _releases_page(request, 400, error=str(exc))
    raise web.HTTPSeeOther("/releases?ok=recorded")


async def release_decide(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    form = await request.post()
    try:
        data.decide_release(svc, request[CTX], request.match_info["request_id"], dict(form))
    except data.QueryError as exc:
        return _releases_page(request, 400, error=str(exc))
    raise web.HTTPSeeOther("/releases?ok=decided")
