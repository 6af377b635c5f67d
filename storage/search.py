"""Searching sealed reads without decrypting the store.

- Exact plate: one HMAC token per live data key, looked up in `reads(key_id, plate_tok)`.
- Pattern (`7AB*`, `?AB12?`, `1*9`): one regular expression over the sealed plate column
  (storage/plates.py) of the live keys, pages outside the time range skipped; only the newest
  `limit` matches are then fetched and decrypted. Cost: linear in the reads of the time range,
  well under a microsecond each, the same for every pattern.
- Hits only: the partial index `reads_hit` lists the few reads with an alert; they are decrypted
  and checked against the plate or pattern.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable

from storage.codec import loads, read_from_meta
from storage.crypto import PlatePattern, normalise_plate
from storage.db import Database
from storage.keyring import KeyRing
from storage.plates import PlateColumn, page_regex
from storage.types import StoredRead

logger = logging.getLogger(__name__)

ROW_COLS = "rid, read_id, key_id, stored, state, holds, hit, acked, meta"
_FETCH = 500


class Searcher:
    def __init__(self, database: Database, keys: KeyRing, pages: PlateColumn):
        self._db = database
        self._keys = keys
        self._pages = pages

    def live_keys(self) -> list[int]:
        return [r[0] for r in self._db.conn.execute(
            "SELECT key_id FROM keys WHERE destroyed IS NULL AND kind IN ('period', 'hold')")]

    def _filters(self, since: float | None, until: float | None,
                 hits_only: bool) -> tuple[str, list]:
        sql, args = "", []
        if since is not None:
            sql += " AND captured >= ?"
            args.append(since)
        if until is not None:
            sql += " AND captured <= ?"
            args.append(until)
        if hits_only:
            sql += " AND hit = 1"
        return sql, args

    def search(self, *, plate: str | None, pattern: str | None, since: float | None,
               until: float | None, hits_only: bool, limit: int) -> list[StoredRead]:
        where, args = self._filters(since, until, hits_only)
        if plate:
            rows = self._exact(normalise_plate(plate), where, args)
            found = [self.to_stored(r) for r in rows]
        elif pattern and hits_only:
            parsed = PlatePattern.parse(pattern)
            rows = self._db.conn.execute(
                f"SELECT {ROW_COLS} FROM reads WHERE 1=1{where}", args)  # noqa: S608
            found = self._confirm(rows, parsed)
        elif pattern:
            found = self._pattern(PlatePattern.parse(pattern), since, until, limit)
        else:
            rows = self._db.conn.execute(
                f"SELECT {ROW_COLS} FROM reads WHERE 1=1{where} ORDER BY captured DESC LIMIT ?",  # noqa: S608
                [*args, limit])
            found = [self.to_stored(r) for r in rows]
        found.sort(key=lambda s: s.read.first_seen_wall, reverse=True)
        return found[:limit]

    def _exact(self, plate: str, where: str, args: list) -> list[tuple]:
        rows: list[tuple] = []
        for key_id in self.live_keys():
            token = self._keys.get(key_id).plate_token(plate)
            rows += self._db.conn.execute(
                f"SELECT {ROW_COLS} FROM reads WHERE key_id=? AND plate_tok=?{where}",  # noqa: S608
                [key_id, token, *args])
        return rows

    def _pattern(self, pattern: PlatePattern, since: float | None, until: float | None,
                 limit: int) -> list[StoredRead]:
        """Scan the plate column, then decrypt only the newest `limit` matching reads."""
        hits = self._pages.scan(self.live_keys(), page_regex(pattern.text), since, until)
        newest = [rid for _, rid in heapq.nlargest(limit, hits)]
        found: list[StoredRead] = []
        for i in range(0, len(newest), _FETCH):
            chunk = newest[i:i + _FETCH]
            rows = self._db.conn.execute(
                f"SELECT {ROW_COLS} FROM reads WHERE rid IN ({','.join('?' * len(chunk))})",  # noqa: S608
                chunk)
            found += self._confirm(rows, pattern)
        return found

    def _confirm(self, rows: Iterable[tuple], pattern: PlatePattern) -> list[StoredRead]:
        out = []
        for row in rows:
            stored = self.to_stored(row)
            if pattern.matches(stored.read.plate):
                out.append(stored)
        return out

    def to_stored(self, row: tuple, with_images: bool = False) -> StoredRead:
        rid, read_id, key_id, stored, state, holds, hit, acked, meta = row
        key = self._keys.get(key_id)
        crop = frame = None
        if with_images:
            crop_blob, frame_blob = self._db.conn.execute(
                "SELECT crop, frame FROM reads WHERE rid=?", (rid,)).fetchone()
            crop = key.open(read_id, "crop", crop_blob) if crop_blob else None
            frame = key.open(read_id, "frame", frame_blob) if frame_blob else None
        read = read_from_meta(loads(key.open(read_id, "meta", meta)), crop, frame)
        return StoredRead(read=read, stored_wall=stored, uplinked=acked is not None,
                          held=holds > 0, hit=bool(hit))

    def get(self, read_id: str, with_images: bool) -> StoredRead | None:
        row = self._db.conn.execute(f"SELECT {ROW_COLS} FROM reads WHERE read_id=?",  # noqa: S608
                                    (read_id,)).fetchone()
        return self.to_stored(row, with_images) if row else None
