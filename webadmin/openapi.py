"""The OpenAPI 3.0 document of /api/v1, built from the route table so the two cannot drift."""

from __future__ import annotations

import functools
import re

from webadmin.data import AGENCY_TYPES
from webadmin.purpose import PURPOSE_KINDS

STR = {"type": "string"}
TIME = {"type": "string", "description": "ISO 8601 date-time (UTC unless offset) or epoch s"}
PURPOSE_PARAMS = [
    {"name": "purpose_kind", "in": "query", "required": True,
     "schema": {"type": "string", "enum": list(PURPOSE_KINDS)}},
    {"name": "purpose", "in": "query", "required": True,
     "schema": {"type": "string", "minLength": 3, "maxLength": 200}},
    {"name": "case_number", "in": "query", "required": False,
     "description": "required when purpose_kind is investigation", "schema": STR},
]
QUERY = {
    ("GET", "/api/v1/reads"): [
        {"name": "plate", "in": "query", "schema": STR,
         "description": "exact plate, or partial with * (any run) and ? (one character)"},
        {"name": "since", "in": "query", "schema": TIME},
        {"name": "until", "in": "query", "schema": TIME},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}}],
    ("GET", "/api/v1/access-log"): [
        {"name": "since", "in": "query", "schema": TIME},
        {"name": "until", "in": "query", "schema": TIME}],
}


def _obj(required: list[str], **props) -> dict:
    return {"type": "object", "required": required, "properties": props}


BODIES = {
    ("POST", "/api/v1/session"): _obj(["username", "password"], username=STR, password=STR,
                                      totp=STR),
    ("POST", "/api/v1/me/password"): _obj(["current", "new"], current=STR, new=STR, totp=STR),
    ("POST", "/api/v1/policy/ack"): _obj(["sha256"], sha256=STR),
    ("PUT", "/api/v1/settings"): {"type": "object", "description": "flat section.field keys",
                                  "additionalProperties": True},
    ("POST", "/api/v1/holds"): _obj(["read_ids", "reason"],
                                    read_ids={"type": "array", "items": STR}, reason=STR),
    ("POST", "/api/v1/evidence"): _obj([], recipient_agency=STR,
                                       release_request_id={"type": "integer"}),
    ("POST", "/api/v1/holds/{hold_id}/release"): _obj(["reason"], reason=STR),
    ("POST", "/api/v1/releases"): _obj(
        ["requesting_agency", "agency_type", "requester", "purpose"], requesting_agency=STR,
        agency_type={"type": "string", "enum": list(AGENCY_TYPES)}, requester=STR, purpose=STR,
        case_number=STR),
    ("POST", "/api/v1/releases/{request_id}/decision"): _obj(
        ["decision", "note"], decision={"type": "string", "enum": ["approved", "denied"]},
        note=STR),
    ("POST", "/api/v1/users"): _obj(["username", "role"], username=STR, role=STR,
                                    organisation=STR, full_name=STR),
    ("POST", "/api/v1/users/{username}/training"): _obj(
        ["course", "completed_on", "expires_on"], course=STR,
        completed_on={"type": "string", "format": "date"},
        expires_on={"type": "string", "format": "date"}),
}
ERRORS = {str(c): {"description": d, "content": {"application/json": {"schema": _obj(
    ["error"], error=STR)}}} for c, d in (
    (400, "invalid request or missing purpose"), (401, "not signed in"),
    (403, "role, training, password change or policy acknowledgement missing"),
    (404, "not found"), (415, "not JSON"), (429, "throttled"), (503, "not available"))}


def _operation(route) -> dict:
    key = (route.method, route.path)
    params = [{"name": n, "in": "path", "required": True, "schema": STR}
              for n in re.findall(r"{(\w+)}", route.path)]
    params += QUERY.get(key, []) + (PURPOSE_PARAMS if route.purpose else [])
    op: dict = {"operationId": route.handler.__name__,
                "summary": (route.handler.__doc__ or route.handler.__name__).strip().split("\n")[0],
                "x-roles": sorted(route.roles) if route.roles else ["anonymous"],
                "responses": {"200": {"description": "OK"}, "201": {"description": "created"},
                              "204": {"description": "done"}, **ERRORS}}
    if params:
        op["parameters"] = params
    if key in BODIES:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": BODIES[key]}}}
    if route.roles is None:
        op["security"] = []
    return op


@functools.cache
def build_openapi() -> dict:
    from webadmin.routes import ROUTES  # the table imports this module's users

    paths: dict = {}
    for route in ROUTES:
        if route.api:
            paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.0.3",
        "info": {"title": "ALPR unit console API", "version": "1"},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    }
