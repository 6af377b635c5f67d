"""Ordered, named, transactional migrations of the accounts database."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import sqlite_utils

logger = logging.getLogger(__name__)

Migration = tuple[str, Callable[[sqlite_utils.Database], None]]


def _m001_initial(db: sqlite_utils.Database) -> None:
    db["users"].create({
        "username": str, "role": str, "organisation": str, "full_name": str, "pw_hash": str,
        "must_change": int, "totp_sealed": bytes, "disabled": int, "policy_ack": str,
        "created": float}, pk="username", not_null={"role", "organisation", "pw_hash"})
    db["training"].create({
        "id": int, "username": str, "course": str, "completed_on": str, "expires_on": str,
        "recorded_by": str, "recorded_at": float}, pk="id",
        foreign_keys=[("username", "users", "username")])
    db["training"].create_index(["username"])
    db["sessions"].create({
        "session_id": str, "username": str, "address": str, "csrf": str, "created": float,
        "last_seen": float, "purpose": str, "purpose_kind": str, "case_number": str},
        pk="session_id")
    db["sessions"].create_index(["username"])
    db["login_failures"].create({"id": int, "key": str, "at": float}, pk="id")
    db["login_failures"].create_index(["key", "at"])


MIGRATIONS: list[Migration] = [("001_initial", _m001_initial)]


def migrate(db: sqlite_utils.Database, migrations: list[Migration]) -> list[str]:
    """Apply each migration not yet recorded, each in its own transaction; return their names."""
    if "_migrations" not in db.table_names():
        db["_migrations"].create({"name": str, "applied": float}, pk="name")
    done = {row["name"] for row in db["_migrations"].rows}
    applied = []
    for name, step in migrations:
        if name in done:
            continue
        with db.conn:
            step(db)
            db["_migrations"].insert({"name": name, "applied": time.time()})
        logger.info("accounts database: applied migration %s", name)
        applied.append(name)
    return applied
