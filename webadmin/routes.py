"""The console's route table: every route with who may use it. Only this file grants access.

`roles=None` is public (login and its API twin); otherwise the signed-in user's role must be
listed. `trained=False` routes stay open to users without a current training record (the policy
and their own training status); `ready=False` ones also stay open before the one-time password
is changed and the policy acknowledged. `purpose=True` routes show plate data: they need a
stated purpose (and a case number for investigations) and each answer is access-logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from webadmin import api, views_admin, views_auth, views_data, views_unit

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ADMIN, TECH, INV, AUD = "admin", "technician", "investigator", "auditor"
ALL = frozenset({ADMIN, TECH, INV, AUD})


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    roles: frozenset[str] | None
    trained: bool = True
    ready: bool = True
    purpose: bool = False

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")


def _r(method, path, handler, roles, **flags) -> Route:
    return Route(method, path, handler, None if roles is None else frozenset(roles), **flags)


ROUTES: tuple[Route, ...] = (
    # -- signing in, policy, own account (open to untrained users) ---------------------------
    _r("GET", "/login", views_auth.login_form, None),
    _r("POST", "/login", views_auth.login, None),
    _r("POST", "/logout", views_auth.logout, ALL, trained=False, ready=False),
    _r("GET", "/password", views_auth.password_form, ALL, trained=False, ready=False),
    _r("POST", "/password", views_auth.password_change, ALL, trained=False, ready=False),
    _r("GET", "/policy", views_auth.policy, ALL, trained=False, ready=False),
    _r("POST", "/policy", views_auth.policy_ack, ALL, trained=False, ready=False),
    _r("GET", "/", views_auth.home, ALL, trained=False),
    _r("GET", "/me", views_auth.me, ALL, trained=False),
    _r("POST", "/me/totp", views_auth.totp_enrol, ALL, trained=False),
    _r("GET", "/purpose", views_auth.purpose_form, ALL),
    _r("POST", "/purpose", views_auth.purpose_set, ALL),
    # -- the unit: health, aiming, camera and IR, hotlists ------------------------------------
    _r("GET", "/status", views_unit.status, ALL),
    _r("GET", "/live", views_unit.live, {TECH}, purpose=True),
    _r("GET", "/live/snapshot.jpg", views_unit.snapshot, {TECH}, purpose=True),
    _r("GET", "/settings", views_unit.settings_form, {ADMIN, TECH}),
    _r("POST", "/settings", views_unit.settings_apply, {ADMIN, TECH}),
    _r("GET", "/hotlist", views_unit.hotlist, {ADMIN, TECH, INV}),
    # -- ALPR data: reads, alerts, holds, evidence, releases ----------------------------------
    _r("GET", "/reads", views_data.recent, {INV}, purpose=True),
    _r("GET", "/search", views_data.search, {INV}, purpose=True),
    _r("GET", "/reads/{read_id}", views_data.read_detail, {INV}, purpose=True),
    _r("GET", "/reads/{read_id}/{image}.jpg", views_data.read_image, {INV}, purpose=True),
    _r("GET", "/alerts", views_data.alerts, {INV}, purpose=True),
    _r("GET", "/holds", views_data.holds, {INV}, purpose=True),
    _r("POST", "/holds", views_data.hold_place, {INV}, purpose=True),
    _r("POST", "/holds/{hold_id}/release", views_data.hold_release, {INV}, purpose=True),
    _r("POST", "/evidence", views_data.evidence_export, {INV}, purpose=True),
    _r("GET", "/releases", views_data.releases, {ADMIN, INV, AUD}, purpose=True),
    _r("POST", "/releases", views_data.release_request, {INV}, purpose=True),
    _r("POST", "/releases/{request_id}/decide", views_data.release_decide, {ADMIN}, purpose=True),
    # -- oversight: access log, users and training --------------------------------------------
    _r("GET", "/audit", views_admin.audit, {AUD}, purpose=True),
    _r("GET", "/audit/report.csv", views_admin.audit_csv, {AUD}, purpose=True),
    _r("GET", "/users", views_admin.users, {ADMIN}),
    _r("POST", "/users", views_admin.user_create, {ADMIN}),
    _r("POST", "/users/{username}", views_admin.user_update, {ADMIN}),
    _r("POST", "/users/{username}/training", views_admin.training_add, {ADMIN}),
    # -- JSON API ------------------------------------------------------------------------------
    _r("POST", "/api/v1/session", api.session_create, None),
    _r("DELETE", "/api/v1/session", api.session_delete, ALL, trained=False, ready=False),
    _r("GET", "/api/v1/openapi.json", api.openapi, ALL, trained=False, ready=False),
    _r("GET", "/api/v1/me", api.me, ALL, trained=False, ready=False),
    _r("POST", "/api/v1/me/password", api.password_change, ALL, trained=False, ready=False),
    _r("GET", "/api/v1/policy", api.policy, ALL, trained=False, ready=False),
    _r("POST", "/api/v1/policy/ack", api.policy_ack, ALL, trained=False, ready=False),
    _r("GET", "/api/v1/status", api.status, ALL),
    _r("GET", "/api/v1/live", api.live, {TECH}, purpose=True),
    _r("GET", "/api/v1/settings", api.settings_get, {ADMIN, TECH}),
    _r("PUT", "/api/v1/settings", api.settings_put, {ADMIN, TECH}),
    _r("GET", "/api/v1/hotlist", api.hotlist, {ADMIN, TECH, INV}),
    _r("GET", "/api/v1/reads", api.reads, {INV}, purpose=True),
    _r("GET", "/api/v1/reads/{read_id}", api.read, {INV}, purpose=True),
    _r("GET", "/api/v1/alerts", api.alerts, {INV}, purpose=True),
    _r("GET", "/api/v1/holds", api.holds, {INV}, purpose=True),
    _r("POST", "/api/v1/holds", api.hold_place, {INV}, purpose=True),
    _r("POST", "/api/v1/holds/{hold_id}/release", api.hold_release, {INV}, purpose=True),
    _r("POST", "/api/v1/evidence", api.evidence_export, {INV}, purpose=True),
    _r("GET", "/api/v1/releases", api.releases, {ADMIN, INV, AUD}, purpose=True),
    _r("POST", "/api/v1/releases", api.release_request, {INV}, purpose=True),
    _r("POST", "/api/v1/releases/{request_id}/decision", api.release_decide, {ADMIN},
       purpose=True),
    _r("GET", "/api/v1/access-log", api.access_log, {AUD}, purpose=True),
    _r("GET", "/api/v1/users", api.users, {ADMIN}),
    _r("POST", "/api/v1/users", api.user_create, {ADMIN}),
    _r("POST", "/api/v1/users/{username}/training", api.training_add, {ADMIN}),
)
