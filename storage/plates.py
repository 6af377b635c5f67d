"""The sealed plate column: every stored plate, packed into small sealed pages, for pattern search.

A partial pattern (`7AB*`, `1*9`, `??A*`) is answered by decrypting these pages — about 25
bytes per read, 128 reads per AES-GCM blob — and running one compiled regular expression over
each page's fixed-width text, instead of decrypting every read's metadata (~15 µs each) or
keeping more blind-index tokens (which leak; see docs/storage.md). The cost is linear in the
reads of the searched time range at a fraction of a microsecond per read, whatever the pattern.

A page holds reads of one data key only and is sealed under it (associated data names the
page), so shredding a period key makes its pages unreadable too. Deleting a read rewrites its
page without it (or drops the page), so purged plates do not linger in pages.

Page plaintext: `<HH` (count, width), count int64 row ids, count float64 capture times, then
count lines of the plate padded with spaces to `width`, each ending in `\\n`.
"""

from __future__ import annotations

import re
import struct
from collections import defaultdict
from collections.abc import Iterable, Iterator

from storage.crypto import DataKey, normalise_plate
from storage.db import Database
from storage.keyring import KeyRing

PAGE_ENTRIES = 128  # small pages: a per-read commit rewrites ~1.5 KB on average
_HEAD = struct.Struct("<HH")

Entry = tuple[int, float, str]  # rid, captured, normalised plate


def pack(entries: list[Entry]) -> bytes:
    n = len(entries)
    width = max(len(p) for _, _, p in entries)
    text = b"".join(p.encode().ljust(width) + b"\n" for _, _, p in entries)
    return (_HEAD.pack(n, width) + struct.pack(f"<{n}q", *(e[0] for e in entries))
            + struct.pack(f"<{n}d", *(e[1] for e in entries)) + text)


def unpack(data: bytes) -> tuple[tuple[int, ...], tuple[float, ...], int, bytes]:
    n, width = _HEAD.unpack_from(data)
    rids = struct.unpack_from(f"<{n}q", data, _HEAD.size)
    times = struct.unpack_from(f"<{n}d", data, _HEAD.size + 8 * n)
    return rids, times, width, data[_HEAD.size + 16 * n:]


def entries_of(data: bytes) -> list[Entry]:
    rids, times, width, text = unpack(data)
    plates = [text[i * (width + 1):i * (width + 1) + width].rstrip().decode()
              for i in range(len(rids))]
    return list(zip(rids, times, plates, strict=True))


def page_regex(body: str) -> re.Pattern[bytes]:
    """A line regex for one pattern body (`*` any run, `?` one character) over page text."""
    parts = ("[A-Z0-9]*" if c == "*" else "[A-Z0-9]" if c == "?" else re.escape(c)
             for c in body)
    return re.compile(("^" + "".join(parts) + " *$").encode(), re.MULTILINE)


class PlateColumn:
    def __init__(self, database: Database, keys: KeyRing):
        self._db = database
        self._keys = keys

    def _seal(self, key: DataKey, page_id: int, entries: list[Entry]) -> bytes:
        return key.seal(f"page-{page_id}", "plates", pack(entries))

    def _open(self, key: DataKey, page_id: int, sealed: bytes) -> bytes:
        return key.open(f"page-{page_id}", "plates", sealed)

    def _write(self, key: DataKey, page_id: int, entries: list[Entry], new: bool) -> None:
        times = [e[1] for e in entries]
        args = (len(entries), min(times), max(times), self._seal(key, page_id, entries))
        if new:
            self._db.conn.execute(
                "INSERT INTO plate_pages(page_id, key_id, n, lo, hi, sealed) VALUES (?,?,?,?,?,?)",
                (page_id, key.key_id, *args))
        else:
            self._db.conn.execute("UPDATE plate_pages SET n=?, lo=?, hi=?, sealed=? "
                                  "WHERE page_id=?", (*args, page_id))

    def append(self, key: DataKey, entries: list[Entry]) -> list[int]:
        """Add entries to the key's open page (then new pages); returns each entry's page id."""
        conn = self._db.conn
        row = conn.execute("SELECT page_id, n, sealed FROM plate_pages WHERE key_id=? "
                           "ORDER BY page_id DESC LIMIT 1", (key.key_id,)).fetchone()
        if row is not None and row[1] < PAGE_ENTRIES:
            page_id, current, new = row[0], entries_of(self._open(key, row[0], row[2])), False
        else:
            page_id, current, new = self._next_id(), [], True
        out: list[int] = []
        for entry in entries:
            if len(current) >= PAGE_ENTRIES:
                self._write(key, page_id, current, new)
                page_id, current, new = self._next_id(page_id), [], True
            current.append(entry)
            out.append(page_id)
        self._write(key, page_id, current, new)
        return out

    def _next_id(self, after: int = 0) -> int:
        row = self._db.conn.execute(
            "SELECT seq FROM sqlite_sequence WHERE name='plate_pages'").fetchone()
        return max(row[0] if row else 0, after) + 1

    def remove(self, rids_by_page: dict[int, set[int]]) -> None:
        """Rewrite pages without the given reads (call in the transaction that deletes them)."""
        conn = self._db.conn
        for page_id, rids in rids_by_page.items():
            row = conn.execute("SELECT key_id, sealed FROM plate_pages WHERE page_id=?",
                               (page_id,)).fetchone()
            if row is None:
                continue
            key = self._keys.get(row[0])
            kept = [e for e in entries_of(self._open(key, page_id, row[1])) if e[0] not in rids]
            if kept:
                self._write(key, page_id, kept, new=False)
            else:
                conn.execute("DELETE FROM plate_pages WHERE page_id=?", (page_id,))

    def drop_key(self, key_id: int) -> None:
        """Pages of a key being shredded (normally none are left)."""
        self._db.conn.execute("DELETE FROM plate_pages WHERE key_id=?", (key_id,))

    def scan(self, key_ids: Iterable[int], regex: re.Pattern[bytes], since: float | None,
             until: float | None) -> Iterator[tuple[float, int]]:
        """(captured, rid) of every entry whose plate matches, within [since, until]."""
        lo = -1e300 if since is None else since
        hi = 1e300 if until is None else until
        for key_id in key_ids:
            key = self._keys.get(key_id)
            rows = self._db.conn.execute(
                "SELECT page_id, sealed FROM plate_pages WHERE key_id=? AND hi >= ? AND lo <= ?",
                (key_id, lo, hi))
            for page_id, sealed in rows:
                rids, times, width, text = unpack(self._open(key, page_id, sealed))
                for m in regex.finditer(text):
                    i = m.start() // (width + 1)
                    if lo <= times[i] <= hi:
                        yield times[i], rids[i]

    def backfill(self, batch: int = 2000) -> int:
        """Index reads stored before the column existed (decrypts each one's metadata once)."""
        from storage.codec import loads

        done, after = 0, 0
        while True:
            with self._db.tx("indexing plates of older reads"):
                rows = list(self._db.conn.execute(
                    "SELECT rid, read_id, key_id, captured, meta FROM reads WHERE rid > ? AND "
                    "page IS NULL ORDER BY rid LIMIT ?", (after, batch)))
                by_key: dict[int, list[Entry]] = defaultdict(list)
                for rid, read_id, key_id, captured, meta in rows:
                    plate = loads(self._keys.get(key_id).open(read_id, "meta", meta))["plate"]
                    by_key[key_id].append((rid, captured, normalise_plate(plate)))
                for key_id, entries in by_key.items():
                    pages = self.append(self._keys.get(key_id), entries)
                    self._db.conn.executemany("UPDATE reads SET page=? WHERE rid=?",
                                              [(p, e[0]) for p, e in zip(pages, entries,
                                                                         strict=True)])
                if not rows:
                    self._db.bump("plates_backfill", -self._db.counter("plates_backfill"))
                    return done
            done += len(rows)
            after = rows[-1][0]
