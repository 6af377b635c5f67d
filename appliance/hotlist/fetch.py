"""Fetch signed hotlists from the agency server (reference receiver: `/v1/hotlists`).

Requests are signed with the unit's identity key; the server's TLS certificate is pinned by the
caller's session. Content is trusted only after `HotlistManager.install` has verified the
agency's signature and every row, so a compromised server cannot plant a list.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

import aiohttp

from appliance.hotlist.manager import HotlistManager
from provisioning.hotlist_format import HotlistError

logger = logging.getLogger(__name__)

MAX_LIST_BYTES = 64 * 1024 * 1024

SignFn = Callable[[str, str, bytes], dict]  # (method, path?query, body) -> headers


class HotlistSync:
    def __init__(self, manager: HotlistManager, server_url: str, unit_id: str,
                 sign: SignFn) -> None:
        self.manager = manager
        self.base = server_url.rstrip("/") + "/v1/hotlists"
        self.unit_id = unit_id
        self.sign = sign
        self.refused: dict[str, str] = {}  # name -> sha256 of a version already refused

    async def _get(self, session: aiohttp.ClientSession, url: str) -> bytes:
        headers = {**self.sign("GET", urlsplit(url).path, b""), "X-Alpr-Unit": self.unit_id}
        async with session.get(url, headers=headers) as resp:
            if resp.status != 200:
                raise aiohttp.ClientResponseError(resp.request_info, resp.history,
                                                  status=resp.status, message=await resp.text())
            if (resp.content_length or 0) > MAX_LIST_BYTES:
                raise aiohttp.ClientPayloadError(f"{url}: larger than {MAX_LIST_BYTES} bytes")
            return await resp.read()

    async def sync(self, session: aiohttp.ClientSession) -> dict[str, str]:
        """Install every list whose content changed. Returns name -> outcome."""
        index = json.loads(await self._get(session, self.base))
        out = {}
        for item in index.get("lists", []):
            name, sha = str(item.get("name", "")), str(item.get("sha256", ""))
            active = self.manager.lists.get(name)
            if (active is not None and active.sha256 == sha) or self.refused.get(name) == sha:
                continue
            out[name] = await self._fetch_install(session, name, sha)
        return out

    async def _fetch_install(self, session: aiohttp.ClientSession, name: str, sha: str) -> str:
        if "/" in name or name.startswith("."):
            return "refused: bad name"
        data = await self._get(session, f"{self.base}/{quote(name)}")
        sig = await self._get(session, f"{self.base}/{quote(name)}.sig")
        with tempfile.TemporaryDirectory(prefix=".hotlist-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            path.with_name(name + ".sig").write_bytes(sig)
            try:
                hl = self.manager.install(path)
            except HotlistError as exc:
                self.refused[name] = sha
                logger.error("hotlist %s from the server refused: %s", name, exc)
                return f"refused: {exc}"
        return f"installed {hl.version}"
