"""Searching sealed reads without decrypting the store.

- Exact plate: one HMAC token per live data key, looked up in `reads(key_id, plate_tok)`.
- Pattern (`7AB*`, `?AB12?`, `*123`): the trigrams the pattern implies (with ^/$ anchors) become
  HMAC tokens per key; their posting lists in `ngrams` are intersected and only those candidate
  rows are decrypted and checked against the pattern. A pattern with no literal run of three
  (e.g. `7*`) cannot use the index: it decrypts every read in the time range (cost grows with
  the range; the console should insist on one).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from storage.codec import loads, read_from_meta
from storage.crypto import PlatePattern, normalise_plate
from storage.db import Database
from storage.keyring import KeyRing
from storage.types import StoredRead

logger = logging.getLogger(__name__)

ROW_COLS = "rid, read_id, key_id, stored, state, holds, hit, acked, meta"
_FETCH = 500


class Searcher:
    def __init__(self, database: Database, keys: KeyRing):
        self._db = database
        self._keys = keys

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
        elif pattern:
            found = self._pattern(PlatePattern.parse(pattern), where, args)
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

    def _pattern(self, pattern: PlatePattern, where: str, args: list) -> list[StoredRead]:
        if not pattern.grams:
            logger.info("pattern %s has no indexable trigram: decrypting the time range",
                        pattern.text)
            rows = self._db.conn.execute(
                f"SELECT {ROW_COLS} FROM reads WHERE 1=1{where}", args)  # noqa: S608
            return self._confirm(rows, pattern)
        found: list[StoredRead] = []
        for key_id in self.live_keys():
            key = self._keys.get(key_id)
            tokens = sorted(key.ngram_token(g) for g in pattern.grams)
            sub = " INTERSECT ".join(["SELECT rid FROM ngrams WHERE tok=?"] * len(tokens))
            rids = [r[0] for r in self._db.conn.execute(sub, tokens)]
            for i in range(0, len(rids), _FETCH):
                chunk = rids[i:i + _FETCH]
                marks = ",".join("?" * len(chunk))
                rows = self._db.conn.execute(
                    f"SELECT {ROW_COLS} FROM reads WHERE key_id=? AND rid IN ({marks}){where}",  # noqa: S608
                    [key_id, *chunk, *args])
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
