"""Pattern search over the sealed plate column: agrees with a plain model; pages follow reads."""

from __future__ import annotations

import re
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_helpers import AUDITOR, DAY, INVESTIGATOR, JPEG, KEK, Clock, make_read, open_store

from storage.crypto import DataKey
from storage.keys import derive, unwrap
from storage.plates import PAGE_ENTRIES, entries_of, pack, page_regex, unpack
from storage.types import Alert

T0 = 1_700_000_000.0
plates_st = st.text("AB12", min_size=1, max_size=7)
pattern_st = st.text("AB12*?", min_size=1, max_size=6).filter(lambda p: p.strip("*?"))


def _model(plates: list[str], pattern: str) -> list[str]:
    rx = re.compile("".join(".*" if c == "*" else "." if c == "?" else c for c in pattern))
    return sorted(p for p in plates if rx.fullmatch(p))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plates=st.lists(plates_st, min_size=1, max_size=40), patterns=st.lists(pattern_st,
                                                                               min_size=1,
                                                                               max_size=4))
def test_pattern_search_agrees_with_a_plain_model(plates, patterns):
    with tempfile.TemporaryDirectory() as d:
        store = open_store(Path(d) / "s.db")
        store.add_reads([make_read(p, t=T0 + i, crop_bytes=0) for i, p in enumerate(plates)])
        for pattern in patterns:
            found = store.search_reads(INVESTIGATOR, pattern=pattern, limit=10_000)
            assert sorted(s.read.plate for s in found) == _model(plates, pattern), pattern
            times = [s.read.first_seen_wall for s in found]
            assert times == sorted(times, reverse=True)
        store.close()


def test_page_format_round_trip_and_regex():
    entries = [(1, T0, "7ABC123"), (2, T0 + 1, "19"), (70, T0 + 2, "1ABC9")]
    data = pack(entries)
    assert entries_of(data) == entries
    rids, _, width, text = unpack(data)
    hits = [rids[m.start() // (width + 1)] for m in page_regex("1*9").finditer(text)]
    assert hits == [2, 70]
    assert not list(page_regex("1ABC9?").finditer(text))  # `?` never matches the padding


def test_limit_returns_the_newest_matches_and_time_range_skips_pages(tmp_path):
    store = open_store(tmp_path / "s.db")
    n = 3 * PAGE_ENTRIES + 5
    store.add_reads([make_read(f"1{i:05d}9", t=T0 + i, crop_bytes=0) for i in range(n)])
    found = store.search_reads(INVESTIGATOR, pattern="1*9", limit=10)
    assert [s.read.first_seen_wall for s in found] == [T0 + i for i in range(n - 1, n - 11, -1)]
    ranged = store.search_reads(INVESTIGATOR, pattern="1*9", since=T0 + 100, until=T0 + 109,
                                limit=100)
    assert sorted(s.read.first_seen_wall for s in ranged) == [T0 + i for i in range(100, 110)]
    pages = store._database.conn.execute("SELECT count(*), sum(n) FROM plate_pages").fetchone()
    assert pages == (4, n)
    store.close()


def test_degenerate_patterns_are_refused_clearly(tmp_path):
    store = open_store(tmp_path / "s.db")
    store.add_read(make_read("7ABC123"))
    with pytest.raises(ValueError, match="no letter or digit"):
        store.search_reads(INVESTIGATOR, pattern="*")
    assert [s.read.plate for s in store.search_reads(INVESTIGATOR, pattern="*B*")] == ["7ABC123"]
    store.close()


def _page_plates(store) -> dict[int, list[str]]:
    """Decrypt every plate page (as someone holding the KEK would) → plates per key id."""
    conn = store._database.conn
    wrapping = derive(KEK, "wrap")
    out: dict[int, list[str]] = {}
    for page_id, key_id, sealed in conn.execute(
            "SELECT page_id, key_id, sealed FROM plate_pages"):
        period, wrapped = conn.execute("SELECT period, wrapped FROM keys WHERE key_id=?",
                                       (key_id,)).fetchone()
        key = DataKey(key_id, period, unwrap(wrapping, wrapped))
        data = key.open(f"page-{page_id}", "plates", sealed)
        out.setdefault(key_id, []).extend(p for _, _, p in entries_of(data))
    return out


def test_deleted_reads_leave_no_plate_in_pages_and_holds_move_theirs(tmp_path):
    clock = Clock()
    store = open_store(tmp_path / "s.db", clock=clock, budget=10**9)
    old = [make_read(f"1OLD{i:03d}", t=clock.t) for i in range(5)]
    store.add_reads(old)
    store.place_hold(INVESTIGATOR, [old[0].read_id], reason="evidence")
    clock.advance(31 * DAY)  # past the maximum retention: the rest of `old` is purged
    store.add_read(make_read("2NEW000", t=clock.t))
    store.purge_expired()
    pages = _page_plates(store)
    everything = sorted(p for plates in pages.values() for p in plates)
    assert everything == ["1OLD000", "2NEW000"]  # the held read moved to the hold key's page
    assert [s.read.plate for s in store.search_reads(INVESTIGATOR, pattern="1OLD*")] == [
        "1OLD000"]
    assert store.stats()["shredded_keys"] >= 1
    store.close()


def test_eviction_rewrites_pages(tmp_path):
    store = open_store(tmp_path / "s.db", budget=40_000)
    reads = [make_read(f"9EV{i:04d}", crop_bytes=3000) for i in range(30)]
    for r in reads:
        store.add_read(r)
    left = {s.read.plate for s in store.search_reads(AUDITOR, limit=1000)}
    assert len(left) < 30
    assert sorted(p for ps in _page_plates(store).values() for p in ps) == sorted(left)
    store.close()


def test_hits_only_with_a_pattern(tmp_path):
    store = open_store(tmp_path / "s.db")
    hit, miss, other_hit = make_read("7ABC123"), make_read("7ABC124"), make_read("5XYZ999")
    store.add_reads([hit, miss, other_hit])
    for i, r in enumerate((hit, other_hit)):
        store.add_alert(Alert(f"a{i}", r.read_id, r.plate, r.plate, r.plate, "stolen-vehicle",
                              "v1", 1, T0))
    found = store.search_reads(INVESTIGATOR, pattern="7AB*", hits_only=True)
    assert [s.read.read_id for s in found] == [hit.read_id]
    assert {s.read.read_id for s in store.search_reads(INVESTIGATOR, hits_only=True)} == {
        hit.read_id, other_hit.read_id}
    store.close()


def test_older_store_gets_its_plate_column_on_open(tmp_path):
    path = tmp_path / "s.db"
    store = open_store(path)
    reads = [make_read(f"3OLD{i:03d}") for i in range(PAGE_ENTRIES + 3)]
    store.add_reads(reads)
    store.close()
    conn = sqlite3.connect(path)  # as a store written before the plate column existed
    with conn:
        conn.execute("UPDATE reads SET page=NULL")
        conn.execute("DELETE FROM plate_pages")
        conn.execute("UPDATE counters SET value=1 WHERE name='plates_backfill'")
    conn.close()
    store = open_store(path)
    assert len(store.search_reads(INVESTIGATOR, pattern="3OLD*", limit=1000)) == len(reads)
    assert store._database.counter("plates_backfill") == 0
    store.close()
    wal = tmp_path / "s.db-wal"
    raw = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert b"3OLD" not in raw and JPEG not in raw


def test_console_search_passes_hits_only(tmp_path):
    from types import SimpleNamespace

    from webadmin import data

    store = open_store(tmp_path / "s.db")
    hit, miss = make_read("7ABC123"), make_read("7ABC124")
    store.add_reads([hit, miss])
    store.add_alert(Alert("a1", hit.read_id, hit.plate, hit.plate, hit.plate, "stolen-vehicle",
                          "v1", 1, T0))
    svc = SimpleNamespace(store=store, config=SimpleNamespace(
        console=SimpleNamespace(search_max_results=500)))
    assert len(data.search(svc, INVESTIGATOR, {"plate": "7AB*"})) == 2
    found = data.search(svc, INVESTIGATOR, {"plate": "7AB*", "hits": "on"})
    assert [r["read_id"] for r in found] == [hit.read_id] and found[0]["hit"]
    store.close()


def test_a_first_version_store_is_migrated_and_its_plates_indexed(tmp_path):
    """A file made by migration 0001 (trigram tokens, no plate column) opens, loses its
    tokens and gets its plate pages from the sealed metadata."""
    from storage.codec import dumps, read_meta
    from storage.db import Database, connect
    from storage.keyring import KeyRing
    from storage.migrations import MIGRATIONS, migrate

    path = tmp_path / "s.db"
    conn = connect(path)
    migrate(conn, MIGRATIONS[:1])
    db = Database(conn)
    keys = KeyRing(db, KEK, Clock(), DAY)
    old = [make_read(f"6OLD{i:03d}", t=T0 + i) for i in range(3)]
    with db.tx("storing reads the first version's way"):
        key = keys.current()
        for i, read in enumerate(old, 1):
            conn.execute(
                "INSERT INTO reads(read_id, key_id, captured, stored, nbytes, plate_tok, meta) "
                "VALUES (?,?,?,?,?,?,?)",
                (read.read_id, key.key_id, read.first_seen_wall, T0, 500,
                 key.plate_token(read.plate),
                 key.seal(read.read_id, "meta", dumps(read_meta(read)))))
            conn.execute("INSERT INTO ngrams(tok, rid) VALUES (?, ?)", (1000 + i, i))
        keys.adjust(key.key_id, len(old))
        db.bump("reads", len(old))
        db.bump("bytes", 500 * len(old))
    conn.close()
    store = open_store(path)
    found = store.search_reads(INVESTIGATOR, pattern="6OLD*", limit=10)
    assert [s.read.plate for s in found] == ["6OLD002", "6OLD001", "6OLD000"]
    tables = {r[0] for r in store._database.conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table'")}
    assert "ngrams" not in tables and "plate_pages" in tables
    store.add_read(make_read("6OLD999"))  # row ids continue after the old ones
    assert len(store.search_reads(INVESTIGATOR, pattern="6OLD*", limit=10)) == 4
    store.close()
