"""Hotlist distribution: the receiver serves the agency's signed lists to enrolled units.

Units ask with requests signed by their identity key (reqsign.py, header ``X-Alpr-Unit`` names
the unit), so only enrolled, unrevoked units can download lists. The files are served as they
are: the unit checks the agency's signature itself (the receiver is not trusted for content).

- ``GET /v1/hotlists`` → {"lists": [{"name", "sha256", "size"}]}
- ``GET /v1/hotlists/{name}`` and ``{name}.sig`` → the exact bytes
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

from aiohttp import web

from appliance.uplink.receiver.db import ReceiverDB
from appliance.uplink.reqsign import AuthError, RequestVerifier
from appliance.uplink.verify import VerifyError

logger = logging.getLogger(__name__)

H_UNIT = "X-Alpr-Unit"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}\.(csv|json)(\.sig)?$")
_STATE = web.AppKey("hotlist_dist", dict)


def add_hotlist_routes(app: web.Application, db: ReceiverDB, directory: str | Path) -> None:
    app[_STATE] = {"db": db, "dir": Path(directory), "verifiers": {}}
    app.router.add_get("/v1/hotlists", _index)
    app.router.add_get("/v1/hotlists/{name}", _file)


def _authenticate(request: web.Request, body: bytes = b"") -> str:
    state = request.app[_STATE]
    unit = request.headers.get(H_UNIT, "")
    try:
        key = state["db"].public_key(unit)
    except VerifyError as exc:
        raise _refuse(exc.code, exc.detail) from exc
    verifier = state["verifiers"].get(unit)
    if verifier is None or verifier.key is not key:
        verifier = state["verifiers"][unit] = RequestVerifier(key)
    try:
        verifier.verify(request.method, request.path_qs, request.headers, body)
    except AuthError as exc:
        raise _refuse(exc.code, exc.detail) from exc
    return unit


def _refuse(code: str, detail: str) -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(text=json.dumps({"error": code, "detail": detail}),
                                content_type="application/json")


async def _index(request: web.Request) -> web.Response:
    _authenticate(request)
    d: Path = request.app[_STATE]["dir"]
    lists = []
    for p in sorted(d.glob("*")):
        if NAME.match(p.name) and not p.name.endswith(".sig") and \
                p.with_name(p.name + ".sig").exists():
            data = p.read_bytes()
            lists.append({"name": p.name, "sha256": hashlib.sha256(data).hexdigest(),
                          "size": len(data)})
    return web.json_response({"lists": lists})


async def _file(request: web.Request) -> web.Response:
    unit = _authenticate(request)
    name = request.match_info["name"]
    path = request.app[_STATE]["dir"] / name
    if not NAME.match(name) or not path.is_file():
        raise web.HTTPNotFound(text=json.dumps({"error": "no_such_list"}),
                               content_type="application/json")
    logger.info("hotlist %s sent to %s", name, unit)
    return web.Response(body=path.read_bytes(), content_type="application/octet-stream")
