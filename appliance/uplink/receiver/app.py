"""The reference receiver's HTTP side: POST batches, unit status, Prometheus /metrics."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from aiohttp import web

from appliance.uplink.receiver.db import ReceiverDB
from appliance.uplink.receiver.hotlists import add_hotlist_routes
from appliance.uplink.verify import MAX_ENVELOPE_BYTES, VerifyError

logger = logging.getLogger(__name__)

DB_KEY = web.AppKey("receiver_db", ReceiverDB)
LAT_KEY = web.AppKey("ingest_latency", list)
LATENCY_WINDOW = 10_000


def create_app(db: ReceiverDB, *, hotlist_dir: str | Path | None = None) -> web.Application:
    """The receiver's routes; with ``hotlist_dir`` it also serves signed hotlists to units."""
    app = web.Application(client_max_size=MAX_ENVELOPE_BYTES)
    app[DB_KEY] = db
    app[LAT_KEY] = []
    app.router.add_post("/v1/batches", post_batch)
    app.router.add_get("/v1/units/{unit_id}/status", unit_status)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    if hotlist_dir is not None:
        add_hotlist_routes(app, db, hotlist_dir)
    return app


async def post_batch(request: web.Request) -> web.Response:
    db = request.app[DB_KEY]
    raw = await request.read()
    t0 = time.perf_counter()
    try:
        res = db.ingest(raw)
    except VerifyError as exc:
        logger.warning("batch refused from %s: %s", request.remote, exc)
        body = exc.as_dict()
        if exc.code == "sequence_gap":
            body["expected"] = _expected(db, raw)
        return web.json_response(body, status=exc.status)
    lat = request.app[LAT_KEY]
    lat.append(time.perf_counter() - t0)
    if len(lat) > LATENCY_WINDOW:
        del lat[: len(lat) - LATENCY_WINDOW]
    return web.json_response({"ack": res.seq, "result": res.result, "unit_id": res.unit_id,
                              "reads_stored": res.reads})


def _expected(db: ReceiverDB, raw: bytes) -> int | None:
    try:
        state = db.unit_state(json.loads(raw)["batch"]["device_id"])
    except (ValueError, KeyError, TypeError):
        return None
    return state[0] + 1 if state else None


async def unit_status(request: web.Request) -> web.Response:
    state = request.app[DB_KEY].unit_state(request.match_info["unit_id"])
    if state is None:
        return web.json_response({"error": "unknown_unit"}, status=404)
    return web.json_response({"last_seq": state[0], "last_hash": state[1]})


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def metrics(request: web.Request) -> web.Response:
    db = request.app[DB_KEY]
    c = db.counters
    lines = [
        "# HELP alpr_receiver_batches_total Batches accepted, by result.",
        "# TYPE alpr_receiver_batches_total counter",
        *(f'alpr_receiver_batches_total{{result="{k}"}} {v}' for k, v in sorted(c.batches.items())),
        "# HELP alpr_receiver_rejected_total Batches refused, by error code.",
        "# TYPE alpr_receiver_rejected_total counter",
        *(f'alpr_receiver_rejected_total{{code="{k}"}} {v}' for k, v in sorted(c.rejected.items())),
        "# HELP alpr_receiver_reads_stored_total Reads stored.",
        "# TYPE alpr_receiver_reads_stored_total counter",
        f"alpr_receiver_reads_stored_total {c.reads_stored}",
        "# HELP alpr_receiver_alerts_stored_total Alerts stored.",
        "# TYPE alpr_receiver_alerts_stored_total counter",
        f"alpr_receiver_alerts_stored_total {c.alerts_stored}",
        "# HELP alpr_receiver_duplicate_records_total Reads that arrived again in a later batch.",
        "# TYPE alpr_receiver_duplicate_records_total counter",
        f"alpr_receiver_duplicate_records_total {c.duplicate_records}",
        "# HELP alpr_receiver_units Enrolled units (not revoked).",
        "# TYPE alpr_receiver_units gauge",
        f"alpr_receiver_units {sum(1 for u in db.units() if not u['revoked'])}",
    ]
    lat = sorted(request.app[LAT_KEY])
    lines += ["# HELP alpr_receiver_ingest_seconds Verify+store time per batch (recent window).",
              "# TYPE alpr_receiver_ingest_seconds summary"]
    for q in (0.5, 0.95, 0.99):
        val = lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0.0
        lines.append(f'alpr_receiver_ingest_seconds{{quantile="{q}"}} {val:.6f}')
    lines += [f"alpr_receiver_ingest_seconds_sum {sum(lat):.6f}",
              f"alpr_receiver_ingest_seconds_count {len(lat)}"]
    return web.Response(body=("\n".join(lines) + "\n").encode(),
                        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})
