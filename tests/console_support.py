"""Shared pieces of the console tests: a real HTTPS console on loopback with real accounts."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from dataclasses import dataclass, field

import cv2
import numpy as np
from aiohttp import ClientSession, CookieJar, DummyCookieJar, TCPConnector
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.config import AlprConfig
from inference.types import Candidate, Read
from storage.accounts import AccountStore
from storage.store import Store
from storage.types import Alert
from webadmin.app import create_app
from webadmin.context import LiveFrame
from webadmin.guard import SESSION_COOKIE
from webadmin.settings import ConfigCameraControl
from webadmin.tls import server_context

PASSWORD = "correct horse battery staple"
CHEAP = dict(time_cost=1, memory_cost=8192, parallelism=1)  # argon2id, fast for tests


def cheap_hasher() -> PasswordHasher:
    return PasswordHasher(**CHEAP)


def make_config(tmp_path, **console) -> AlprConfig:
    return AlprConfig.model_validate({
        "unit": {"data_dir": str(tmp_path), "alpr_administrator": "Lt. Ada Example, Records",
                 "agency": "Example PD", "unit_id": "pole-7"},
        "console": console})


def jpeg(width=640, height=360) -> bytes:
    image = np.full((height, width, 3), 90, np.uint8)
    cv2.rectangle(image, (250, 200), (390, 240), (240, 240, 240), -1)
    return cv2.imencode(".jpg", image)[1].tobytes()


def make_read(plate: str, when: float, **kw) -> Read:
    return Read(read_id=uuid.uuid4().hex, plate=plate, confidence=0.93,
                candidates=(Candidate(plate, 0.93, "US-CA"),), first_seen_wall=when,
                last_seen_wall=when + 0.4, first_seen_mono=100.0, last_seen_mono=100.4,
                clock_synced=True, frames_used=5, box=(250, 200, 140, 40), region="US-CA",
                crop_jpeg=jpeg(140, 40), frame_jpeg=jpeg(), **kw)


def make_alert(read: Read) -> Alert:
    return Alert(alert_id=uuid.uuid4().hex, read_id=read.read_id, plate=read.plate,
                 matched_entry=read.plate, matched_candidate=read.plate,
                 category="stolen-vehicle", hotlist_version="2026-11-28.1", priority=1,
                 created_wall=read.last_seen_wall)


def health() -> dict:
    return {"capture": {"fps": 14.8, "dropped_frames": 3, "camera": "synthetic"},
            "system": {"cpu_temp_c": 52.5, "disk_free_mb": 12000, "clock_synced": True},
            "uplink": {"backlog": 12, "last_ack": None}, "illuminator": {"mode": "auto",
                                                                       "duty": 0.0}}


def hotlist_status() -> dict:
    return {"version": "2026-11-28.1", "entries": 1843, "signed_by": "agency hotlist key",
            "age_hours": 5.2, "categories": {"stolen-vehicle": 1200, "wanted": 643}}


@dataclass
class Console:
    """A running console over HTTPS with its real account store and the store it shows."""

    server: TestServer
    accounts: AccountStore
    store: object
    camera: ConfigCameraControl
    config: AlprConfig
    frames: list = field(default_factory=list)

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    def user(self, name: str, role: str, *, trained=True, ready=True,
             organisation="Example PD") -> str:
        """Create a user directly in the account store (no one-time password when ready)."""
        self.accounts.create_user(name, role, organisation, password=PASSWORD,
                                  one_time_password=not ready)
        if ready:
            self.accounts.acknowledge_policy(name, self.policy_sha)
        if trained:
            today = dt.date.today()
            self.accounts.add_training(name, "ALPR policy and use", today - dt.timedelta(days=10),
                                       today + dt.timedelta(days=355), recorded_by="setup")
        return name

    @property
    def policy_sha(self) -> str:
        from webadmin.context import SERVICES
        return self.server.app[SERVICES].policy.sha256

    def session(self, name: str, purpose: tuple | None = None) -> tuple[dict, str]:
        """(headers carrying the session cookie and CSRF token, csrf) for a fresh session."""
        token, sess = self.accounts.create_session(name, "127.0.0.1")
        if purpose:
            self.accounts.set_purpose(sess.session_id, *purpose)
        return {"Cookie": f"{SESSION_COOKIE}={token}", "X-CSRF-Token": sess.csrf}, sess.csrf


def open_store(tmp_path, clock=time.time) -> Store:
    """A real encrypted store in tmp_path."""
    return Store.open(tmp_path / "store.db", b"\x01" * 32, budget_bytes=64 << 20,
                      retention_after_ack_s=3600, max_retention_s=30 * 86400, period_s=86400,
                      clock=clock, agency="Example PD", synchronous="NORMAL")


async def start_console(tmp_path, store, *, clock=time.time, config=None,
                        frame: LiveFrame | None = None, health_provider=health,
                        unit=None) -> Console:
    """A console over fixed test providers, or over a running ``unit``'s health, live frame
    and camera control."""
    config = config or make_config(tmp_path)
    accounts = AccountStore.open(tmp_path / "accounts.db", hasher=cheap_hasher(),
                                 seal_key=b"k" * 32, clock=clock,
                                 max_failures=config.console.max_failed_logins,
                                 lockout_s=config.console.lockout_min * 60)
    camera = unit.camera_control if unit is not None else ConfigCameraControl(config)
    frames = [frame or LiveFrame(jpeg(), time.time(), (((250, 200, 140, 40), "7ABC123", 0.91),))]
    snapshot = unit.live_frame if unit is not None else (lambda: frames[0])
    health_provider = unit.health if unit is not None else health_provider
    app = create_app(config, store=store, accounts=accounts, health_provider=health_provider,
                     snapshot_provider=snapshot, hotlist_status=hotlist_status,
                     camera_control=camera, evidence_signer=Ed25519PrivateKey.generate())
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=server_context(tmp_path, config.console, "pole-7"))
    return Console(server, accounts, store, camera, config, frames)


def client(cookies: bool = False) -> ClientSession:
    """An HTTPS client that trusts the test's self-signed certificate (cookies: like a browser)."""
    jar = CookieJar(unsafe=True) if cookies else DummyCookieJar()
    return ClientSession(connector=TCPConnector(ssl=False), cookie_jar=jar)


def form_csrf(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)
