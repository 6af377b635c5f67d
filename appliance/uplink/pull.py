"""Pull endpoint on the unit: the agency server lists, fetches and acknowledges batches.

Mounted by the console's HTTPS server (or the daemon) with `add_pull_routes(app, ...)`. Every
request must be signed with the server's Ed25519 key (reqsign.py: timestamp + nonce, replays
refused). Batches are the same sealed bytes the pusher sends; an ack here is an ack for both.

- ``GET  /uplink/v1/status``            → {"device_id", "last_acked", "last_sealed"}
- ``GET  /uplink/v1/batches?after=N&limit=M`` → NDJSON, one envelope (exact bytes) per line
- ``POST /uplink/v1/ack`` {"seq": N}    → acknowledges every batch up to N
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from aiohttp import web

from appliance.uplink.batch import BatchSource
from appliance.uplink.reqsign import AuthError, RequestVerifier

logger = logging.getLogger(__name__)

PREFIX = "/uplink/v1"
MAX_LIMIT = 100
_STATE = web.AppKey("uplink_pull", dict)


def add_pull_routes(app: web.Application, source: BatchSource, verifier: RequestVerifier, *,
                    device_id: str, on_access: Callable[[str, dict], None] | None = None) -> None:
    """Mount the pull endpoint; ``on_access(kind, detail)`` records each access (log_event)."""
    app[_STATE] = {"source": source, "verifier": verifier, "device_id": device_id,
                   "on_access": on_access}
    app.router.add_get(f"{PREFIX}/status", _status)
    app.router.add_get(f"{PREFIX}/batches", _batches)
    app.router.add_post(f"{PREFIX}/ack", _ack)


async def _authenticate(request: web.Request) -> tuple[dict, bytes]:
    state = request.app[_STATE]
    body = await request.read()
    try:
        state["verifier"].verify(request.method, request.path_qs, request.headers, body)
    except AuthError as exc:
        logger.warning("pull request refused from %s: %s", request.remote, exc)
        raise web.HTTPUnauthorized(text=json.dumps({"error": exc.code, "detail": exc.detail}),
                                   content_type="application/json") from exc
    return state, body


def _bad(detail: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": "bad_request", "detail": detail}),
                              content_type="application/json")


async def _status(request: web.Request) -> web.Response:
    state, _ = await _authenticate(request)
    src: BatchSource = state["source"]
    return web.json_response({"device_id": state["device_id"],
                              "last_acked": src.outbox.last_acked_seq(),
                              "last_sealed": src.last_sealed()[0]})


async def _batches(request: web.Request) -> web.Response:
    state, _ = await _authenticate(request)
    try:
        after = int(request.query.get("after", "0"))
        limit = min(int(request.query.get("limit", "10")), MAX_LIMIT)
    except ValueError as exc:
        raise _bad("after and limit must be integers") from exc
    if after < 0 or limit < 1:
        raise _bad("after >= 0 and limit >= 1")
    batches = state["source"].batches_after(after, limit)
    data_seqs = [s for s, b in batches if _carries_alpr_data(b)]
    if state["on_access"] and data_seqs:
        state["on_access"]("uplink_pull", {"after": after, "seqs": data_seqs,
                                           "remote": request.remote})
    body = b"".join(b + b"\n" for _, b in batches)
    return web.Response(body=body, content_type="application/x-ndjson")


def _carries_alpr_data(body: bytes) -> bool:
    """Reads or alerts in the batch. Fetching only access-log entries is not logged again:
    logging it would make a new entry to fetch, and so on forever."""
    batch = json.loads(body)["batch"]
    return bool(batch["reads"] or batch["alerts"])


async def _ack(request: web.Request) -> web.Response:
    state, body = await _authenticate(request)
    try:
        seq = json.loads(body)["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError
    except (ValueError, KeyError, TypeError) as exc:
        raise _bad('body must be {"seq": <integer >= 0>}') from exc
    src: BatchSource = state["source"]
    try:
        newly = src.ack(seq)
    except ValueError as exc:
        raise _bad(str(exc)) from exc
    return web.json_response({"acked": newly, "last_acked": src.outbox.last_acked_seq()})
