"""The console as a service of the daemon (`appliance.unit.UnitParts.services`).

`start(unit)` builds the app on the unit's health and serves it on its own thread; `stop()`
closes it. The unit provides `health() -> dict`; when it also offers `live_frame() ->
LiveFrame | None` and `camera_control` (get/apply), the live view and settings use them,
otherwise the live view answers 503 and settings are held in memory (logged as such).

A console that cannot listen (its port taken, no permission) is an error in the log, the
unit's warnings and its health (`console`), not the unit's end: plate reading goes on.
"""

from __future__ import annotations

import logging

from webadmin.app import create_app
from webadmin.server import ConsoleThread
from webadmin.settings import ConfigCameraControl

logger = logging.getLogger(__name__)


class ConsoleService:
    name = "console"  # its entry in the unit's health

    def __init__(self, config, *, store, accounts, hotlist_status=None, evidence_signer=None,
                 port: int | None = None, mounts=()):
        self.config, self.store, self.accounts = config, store, accounts
        self.mounts = list(mounts)  # callables(app) adding routes (the uplink's pull endpoint)
        self.hotlist_status = hotlist_status or (lambda: {"status": "no hotlist service"})
        self.evidence_signer, self.port = evidence_signer, port
        self._thread: ConsoleThread | None = None
        self.error: str | None = None  # why the console is not listening

    def start(self, unit) -> None:
        if not self.config.console.enabled:
            logger.info("console disabled ([console].enabled = false)")
            return
        camera = getattr(unit, "camera_control", None)
        if camera is None:
            logger.warning("the unit offers no live camera control: console settings are held "
                           "in memory only")
            camera = ConfigCameraControl(self.config)
        live = getattr(unit, "live_frame", None) or (lambda: None)
        app = create_app(self.config, store=self.store, accounts=self.accounts,
                         health_provider=unit.health, snapshot_provider=live,
                         hotlist_status=self.hotlist_status, camera_control=camera,
                         evidence_signer=self.evidence_signer)
        for mount in self.mounts:
            mount(app)
        thread = ConsoleThread(app, self.config, port=self.port)
        try:
            thread.start()
        except OSError as exc:
            port = self.port or self.config.console.port
            self.error = f"console not listening on port {port}: {exc.strerror or exc}"
            logger.error("%s; the unit goes on reading plates (free the port or set "
                         "[console].port, then restart)", self.error)
            warnings = getattr(unit, "warnings", None)
            if isinstance(warnings, list):
                warnings.append(self.error)
            return
        self._thread = thread

    def health(self) -> dict:
        return {"listening": self._thread is not None, "error": self.error}

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None
