"""Schema of the store, created and changed only by named, ordered, transactional migrations.

Each migration runs inside one transaction together with its row in `migrations`, so a power
cut leaves the schema either before or after it. Append new migrations; never edit old ones.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

_INITIAL = """
CREATE TABLE keys (
    key_id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,                -- period | hold | audit | check
    period INTEGER NOT NULL,
    wrapped BLOB,                      -- NULL once destroyed (crypto-shredded)
    live INTEGER NOT NULL DEFAULT 0,   -- reads + unacked batches sealed under this key
    created REAL NOT NULL,
    destroyed REAL
);
CREATE UNIQUE INDEX keys_kind_period ON keys(kind, period) WHERE kind IN ('period', 'audit');

CREATE TABLE reads (
    rid INTEGER PRIMARY KEY AUTOINCREMENT,
    read_id TEXT NOT NULL UNIQUE,
    key_id INTEGER NOT NULL REFERENCES keys(key_id),
    captured REAL NOT NULL,            -- first_seen_wall of the read
    stored REAL NOT NULL,              -- unit clock at insert: retention and ring order
    state INTEGER NOT NULL DEFAULT 0,  -- 0 unsent, 1 acknowledged by the server, 2 held
    holds INTEGER NOT NULL DEFAULT 0,  -- active evidence holds
    hit INTEGER NOT NULL DEFAULT 0,    -- has a hotlist alert
    acked REAL,
    batch_seq INTEGER,
    nbytes INTEGER NOT NULL,
    plate_tok BLOB NOT NULL,
    meta BLOB NOT NULL,
    crop BLOB,
    frame BLOB
);
CREATE INDEX reads_state_rid ON reads(state, rid);
CREATE INDEX reads_state_stored ON reads(state, stored);
CREATE INDEX reads_state_acked ON reads(state, acked);
CREATE INDEX reads_captured ON reads(captured);
CREATE INDEX reads_key_plate ON reads(key_id, plate_tok);
CREATE INDEX reads_key ON reads(key_id, rid);
CREATE INDEX reads_outbox ON reads(rid) WHERE batch_seq IS NULL;
CREATE INDEX reads_batch ON reads(batch_seq) WHERE batch_seq IS NOT NULL;

CREATE TABLE ngrams (
    tok INTEGER NOT NULL,
    rid INTEGER NOT NULL,
    PRIMARY KEY (tok, rid)
) WITHOUT ROWID;
CREATE INDEX ngrams_rid ON ngrams(rid);

CREATE TABLE alerts (
    aid INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL UNIQUE,
    rid INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    created REAL NOT NULL,
    sealed BLOB NOT NULL,
    batch_seq INTEGER,
    acked REAL
);
CREATE INDEX alerts_rid ON alerts(rid);
CREATE INDEX alerts_outbox ON alerts(priority, aid) WHERE batch_seq IS NULL;
CREATE INDEX alerts_batch ON alerts(batch_seq) WHERE batch_seq IS NOT NULL;

CREATE TABLE access_log (
    seq INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    key_id INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    batch_seq INTEGER
);
CREATE INDEX access_log_ts ON access_log(ts);
CREATE INDEX access_log_outbox ON access_log(seq) WHERE batch_seq IS NULL;
CREATE INDEX access_log_batch ON access_log(batch_seq) WHERE batch_seq IS NOT NULL;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;
CREATE TRIGGER access_log_no_update BEFORE UPDATE OF seq, ts, key_id, sealed, prev_hash, hash
ON access_log BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;

CREATE TABLE audit_checkpoints (
    seq INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    ts REAL NOT NULL,
    public_key BLOB NOT NULL,
    signature BLOB NOT NULL
);

CREATE TABLE batches (
    seq INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL,
    key_id INTEGER,
    body BLOB,                         -- sealed; dropped once acknowledged
    created REAL NOT NULL,
    acked REAL
);

CREATE TABLE holds (
    hold_id INTEGER PRIMARY KEY AUTOINCREMENT,
    rid INTEGER NOT NULL,
    read_id TEXT NOT NULL,
    case_number TEXT NOT NULL,
    reason TEXT NOT NULL,
    placed_by TEXT NOT NULL,
    organisation TEXT NOT NULL,
    placed_at REAL NOT NULL,
    released_at REAL,
    released_by TEXT,
    release_reason TEXT
);
CREATE INDEX holds_rid ON holds(rid);
CREATE INDEX holds_case ON holds(case_number);

CREATE TABLE release_requests (
    request_id INTEGER PRIMARY KEY AUTOINCREMENT,
    requesting_agency TEXT NOT NULL,
    agency_type TEXT NOT NULL,
    requester TEXT NOT NULL,
    purpose TEXT NOT NULL,
    case_number TEXT,
    received_at REAL NOT NULL,
    recorded_by TEXT NOT NULL,
    status TEXT NOT NULL,              -- pending | approved | denied | referred
    reviewer TEXT,
    decided_at REAL,
    decision_note TEXT,
    fulfilled_at REAL
);
CREATE TRIGGER release_requests_no_delete BEFORE DELETE ON release_requests
BEGIN SELECT RAISE(ABORT, 'release requests stay on file'); END;

CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO counters(name, value) VALUES ('bytes', 0), ('reads', 0), ('evicted_unsent', 0),
    ('evicted_uplinked', 0), ('evicted_expired', 0), ('purged', 0);
"""

# Partial-plate search moves from trigram tokens to the sealed plate column (storage/plates.py):
# the tokens go (secure_delete zeroes their pages); Store.open fills the pages of older reads.
# Indexes a new read does not need to touch are dropped or made partial (cheaper inserts).
_PLATE_PAGES = """
DROP TABLE ngrams;
CREATE TABLE plate_pages (
    page_id INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id INTEGER NOT NULL,
    n INTEGER NOT NULL,
    lo REAL NOT NULL,                  -- capture-time range of the page's reads
    hi REAL NOT NULL,
    sealed BLOB NOT NULL
);
CREATE INDEX plate_pages_key ON plate_pages(key_id);
ALTER TABLE reads ADD COLUMN page INTEGER;
CREATE INDEX reads_hit ON reads(captured) WHERE hit = 1;
DROP INDEX reads_key;
DROP INDEX reads_state_acked;
CREATE INDEX reads_state_acked ON reads(state, acked) WHERE acked IS NOT NULL;
INSERT INTO counters(name, value) SELECT 'plates_backfill', count(*) > 0 FROM reads;
"""

# Access-log retention (AuditLog.prune): entries up to `audit_pruned_through` may be deleted,
# nothing after it; the signed checkpoint at that seq anchors the rest of the chain.
_AUDIT_RETENTION = """
DROP TRIGGER access_log_no_delete;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
WHEN old.seq > (SELECT value FROM counters WHERE name = 'audit_pruned_through')
BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;
INSERT INTO counters(name, value) VALUES ('audit_pruned_through', 0);
"""

Migration = Callable[[sqlite3.Connection], None]


def _script(script: str) -> Migration:
    def run(conn: sqlite3.Connection) -> None:
        for statement in _split(script):
            conn.execute(statement)
    return run


def _initial(conn: sqlite3.Connection) -> None:
    _script(_INITIAL)(conn)


def _split(script: str) -> list[str]:
    """Split on ';' at line ends, keeping trigger bodies (whose inner ';' ends `END;`) intact."""
    out, buf = [], []
    for line in script.splitlines():
        if line.strip().startswith("--") or not line.strip():
            continue
        buf.append(line)
        text = "\n".join(buf)
        if line.rstrip().endswith(";") and sqlite3.complete_statement(text):
            out.append(text)
            buf = []
    return out


MIGRATIONS: list[tuple[str, Migration]] = [
    ("0001_initial", _initial),
    ("0002_plate_pages", _script(_PLATE_PAGES)),
    ("0003_access_log_retention", _script(_AUDIT_RETENTION)),
]


def applied(conn: sqlite3.Connection) -> list[str]:
    conn.execute("CREATE TABLE IF NOT EXISTS migrations "
                 "(name TEXT PRIMARY KEY, applied REAL NOT NULL)")
    return [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY name")]


def migrate(conn: sqlite3.Connection,
            migrations: list[tuple[str, Migration]] | None = None) -> list[str]:
    """Apply pending migrations in order, each in its own transaction. Returns the names applied.

    `conn` must be in autocommit mode (isolation_level=None) so BEGIN/COMMIT here are real.
    """
    migrations = MIGRATIONS if migrations is None else migrations
    done = set(applied(conn))
    known = [name for name, _ in migrations]
    unknown = done - set(known)
    if unknown:
        raise RuntimeError(f"store schema is newer than this software (unknown migrations: "
                           f"{sorted(unknown)}); refusing to open it")
    ran = []
    for name, step in migrations:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            step(conn)
            conn.execute("INSERT INTO migrations(name, applied) VALUES (?, ?)", (name, time.time()))
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        logger.info("store migration %s applied", name)
        ran.append(name)
    return ran
