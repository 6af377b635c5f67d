"""Pull mode: the receiver fetches batches from a unit's pull endpoint, stores them, acks them."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.uplink.receiver.db import ReceiverDB
from appliance.uplink.reqsign import sign_request
from appliance.uplink.verify import VerifyError

logger = logging.getLogger(__name__)


class PullError(RuntimeError):
    """The unit refused or answered badly."""


async def _signed(session: aiohttp.ClientSession, key: Ed25519PrivateKey, method: str, url: str,
                  body: bytes = b"") -> bytes:
    parts = urlsplit(url)
    path_qs = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = sign_request(key, method, path_qs, body)
    if body:
        headers["Content-Type"] = "application/json"
    async with session.request(method, url, data=body or None, headers=headers) as resp:
        data = await resp.read()
        if resp.status != 200:
            raise PullError(f"{method} {parts.path}: HTTP {resp.status} {data[:200]!r}")
        return data


async def pull_once(db: ReceiverDB, session: aiohttp.ClientSession, unit_url: str, unit_id: str,
                    key: Ed25519PrivateKey, *, limit: int = 50, max_rounds: int = 1000) -> int:
    """Fetch batches after the last stored one, verify + store them, ack. Returns batches stored."""
    base = unit_url.rstrip("/") + "/uplink/v1"
    state = db.unit_state(unit_id)
    if state is None:
        raise PullError(f"unit {unit_id!r} is not enrolled")
    stored = 0
    after = state[0]
    status = json.loads(await _signed(session, key, "GET", f"{base}/status"))
    if status.get("device_id") != unit_id:
        raise PullError(f"{unit_url} is unit {status.get('device_id')!r}, not {unit_id!r}")
    if status.get("last_acked", 0) < after:  # an earlier ack was lost: repeat it
        await _signed(session, key, "POST", f"{base}/ack", json.dumps({"seq": after}).encode())
    for _ in range(max_rounds):
        data = await _signed(session, key, "GET", f"{base}/batches?after={after}&limit={limit}")
        lines = [ln for ln in data.split(b"\n") if ln]
        if not lines:
            break
        for raw in lines:
            try:
                res = db.ingest(raw, unit_id=unit_id)
            except VerifyError as exc:
                raise PullError(f"batch from {unit_id} refused: {exc}") from exc
            stored += res.result == "stored"
            after = res.seq
        await _signed(session, key, "POST", f"{base}/ack", json.dumps({"seq": after}).encode())
    if stored:
        logger.info("pulled %s batches from %s (now at %s)", stored, unit_id, after)
    return stored
