"""Group commit: concurrent callers share transactions; each returns only after its commit."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from store_helpers import INVESTIGATOR, make_read, open_store

from storage.exc import DuplicateError, StoreFullError
from storage.writer import GroupWriter


class GatedStore:
    """A real store whose first commit waits for a gate, so other callers queue behind it."""

    def __init__(self, store):
        self.store, self.gate, self.entered = store, threading.Event(), threading.Event()
        self.batches: list[int] = []

    def add_reads(self, reads):
        reads = list(reads)
        if not self.batches:
            self.entered.set()
            assert self.gate.wait(10)
        self.batches.append(len(reads))
        return self.store.add_reads(reads)


def _run_threads(writer, per_thread):
    errors: dict[int, BaseException] = {}

    def work(i):
        try:
            writer.add(per_thread[i])
        except BaseException as exc:  # noqa: BLE001 - collected for the assertions
            errors[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(per_thread))]
    return threads, errors


def test_queued_callers_share_one_commit_and_all_are_stored(tmp_path):
    store = open_store(tmp_path / "s.db")
    gated = GatedStore(store)
    writer = GroupWriter(gated)
    first = make_read()
    leader = threading.Thread(target=writer.add, args=(first,))
    leader.start()
    assert gated.entered.wait(10)
    reads = [[make_read(f"5XYZ{i:03d}")] for i in range(12)] + [[make_read(), make_read()]]
    threads, errors = _run_threads(writer, reads)
    for t in threads:
        t.start()
    while writer.queued() < len(threads):  # everyone is queued behind the leader's commit
        threading.Event().wait(0.005)
    gated.gate.set()
    for t in [leader, *threads]:
        t.join(10)
    assert not errors
    assert gated.batches == [1, 14]  # the leader's commit, then every queued caller together
    assert writer.stats.as_dict()["commits"] == 2 and writer.stats.largest == 14
    assert store.stats()["reads"] == 15
    assert len(store.search_reads(INVESTIGATOR, pattern="5XYZ*", limit=100)) == 12
    store.close()


def test_a_duplicate_fails_only_its_own_caller(tmp_path):
    store = open_store(tmp_path / "s.db")
    old = make_read()
    store.add_read(old)
    gated = GatedStore(store)
    writer = GroupWriter(gated)
    leader = threading.Thread(target=writer.add, args=(make_read(),))
    leader.start()
    assert gated.entered.wait(10)
    batches = [[make_read()], [old], [make_read(), make_read()]]
    threads, errors = _run_threads(writer, batches)
    for t in threads:
        t.start()
    while writer.queued() < 3:
        threading.Event().wait(0.005)
    gated.gate.set()
    for t in [leader, *threads]:
        t.join(10)
    assert list(errors) == [1] and isinstance(errors[1], DuplicateError)
    assert writer.stats.retried == 3
    assert store.stats()["reads"] == 1 + 1 + 1 + 2
    store.close()


def test_full_disk_fails_the_caller_clearly_and_stores_nothing_of_it(tmp_path):
    conn = sqlite3.connect(tmp_path / "s.db", check_same_thread=False)
    store = open_store(conn)
    writer = GroupWriter(store)
    writer.add(make_read(crop_bytes=1000))
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 4}")
    with pytest.raises(StoreFullError, match="disk is full"):
        writer.add([make_read(crop_bytes=20_000) for _ in range(5)])
    assert store.stats()["reads"] == 1
    conn.execute("PRAGMA max_page_count = 1073741823")
    assert writer.add([make_read(), make_read()]) == 2
    assert store.stats()["reads"] == 3
    store.close()


def test_empty_and_single_calls(tmp_path):
    store = open_store(tmp_path / "s.db")
    writer = GroupWriter(store, max_batch=2)
    assert writer.add([]) == 0
    assert writer.add(make_read()) == 1
    assert writer.add([make_read() for _ in range(5)]) == 5  # a caller's reads stay together
    assert store.stats()["reads"] == 6 and writer.stats.commits == 2
    with pytest.raises(ValueError):
        GroupWriter(store, max_batch=0)
    store.close()


class _FullOnce:
    """A store proxy whose first `fail` add_reads calls fail like a full disk."""

    def __init__(self, store, fail: int):
        self.store, self.fail, self.calls = store, fail, []

    def add_reads(self, reads):
        reads = list(reads)
        self.calls.append(len(reads))
        if len(self.calls) <= self.fail:
            raise StoreFullError("disk is full (test)")
        return self.store.add_reads(reads)


def test_capture_loop_hands_its_backlog_to_the_store_as_one_batch(tmp_path):
    from appliance.capture import CaptureLoop
    from appliance.services import StoreSink
    from tests.capture_fakes import TrackingRecognizer
    from tests.test_capture_loop import cfg, run_to_end, synth

    store = open_store(tmp_path / "s.db")
    proxy = _FullOnce(store, fail=3)
    seen = []
    sink = StoreSink(proxy, on_read=seen.append)
    rec = TrackingRecognizer(every=2)
    h = run_to_end(CaptureLoop(synth(), rec, sink, cfg(queue_size=64), max_frames=20))
    assert h["sink_errors"] == 3 and h["reads_undelivered"] == 0
    # the reads kept after each failure go back together, as one batch (one commit)
    assert proxy.calls[:3] == sorted(proxy.calls[:3]) and proxy.calls[3] >= 2
    assert store.stats()["reads"] == len(rec.created) == len(seen) == sink.count
    store.close()


def test_store_sink_retry_skips_reads_already_stored(tmp_path):
    from appliance.services import StoreSink

    store = open_store(tmp_path / "s.db")
    sink = StoreSink(store)
    done, new = make_read(), make_read()
    sink.handle(done)
    sink.handle_many([done, new])  # e.g. the loop retrying after an error raised post-commit
    assert store.stats()["reads"] == 2
    store.close()
