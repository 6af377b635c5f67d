"""Group commit: reads queued by several threads share one transaction and one fsync.

`GroupWriter.add(reads)` returns only after the transaction holding those reads committed
(synchronous=FULL: fsynced), so "returned" still means "survives a power cut". There is no
background thread and no timer: the first caller to find no commit in progress becomes the
leader, takes everything queued (up to `max_batch` reads) and commits it with
`Store.add_reads`; callers arriving meanwhile queue up and are committed together by the next
leader. A lone caller therefore pays exactly one commit, as before; a burst pays one per batch.

If a batch fails as a whole, each caller's reads are retried in their own transaction, so one
duplicate or oversized read fails only its own caller, and a full disk fails every caller with
the store's clear error (nothing of a failed call is stored).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from inference.types import Read

logger = logging.getLogger(__name__)

MAX_BATCH = 256  # reads per transaction (≈ 5 MB of WAL with 20 KB crops)


@dataclass(eq=False)
class _Request:
    reads: list[Read]
    done: bool = False
    error: BaseException | None = None


@dataclass
class WriterStats:
    calls: int = 0
    reads: int = 0
    commits: int = 0
    retried: int = 0
    largest: int = 0

    def as_dict(self) -> dict:
        mean = self.reads / self.commits if self.commits else 0.0
        return {"calls": self.calls, "reads": self.reads, "commits": self.commits,
                "mean_batch": round(mean, 2), "largest_batch": self.largest,
                "retried_alone": self.retried}


class GroupWriter:
    """Leader/follower group commit over a Store (or anything with `add_reads`)."""

    def __init__(self, store, max_batch: int = MAX_BATCH):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._store = store
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Request] = []
        self._busy = False
        self.stats = WriterStats()

    def add(self, reads: Read | Iterable[Read]) -> int:
        """Store `reads` (one read or several); durable when this returns. Returns the count."""
        request = _Request([reads] if isinstance(reads, Read) else list(reads))
        if not request.reads:
            return 0
        with self._cond:
            self._queue.append(request)
            self.stats.calls += 1
            while not request.done:
                if self._busy:
                    self._cond.wait()
                    continue
                self._busy = True
                group = self._take()
                self._cond.release()
                try:
                    self._commit(group)
                finally:
                    self._cond.acquire()
                    self._busy = False
                    self._cond.notify_all()
        if request.error is not None:
            raise request.error
        return len(request.reads)

    def queued(self) -> int:
        """Callers waiting for the next commit."""
        with self._cond:
            return len(self._queue)

    def _take(self) -> list[_Request]:
        """The oldest queued requests, up to max_batch reads (always at least one request)."""
        group, size = [], 0
        while self._queue and (not group or size + len(self._queue[0].reads) <= self.max_batch):
            request = self._queue.pop(0)
            group.append(request)
            size += len(request.reads)
        return group

    def _commit(self, group: list[_Request]) -> None:
        reads = [r for request in group for r in request.reads]
        try:
            self._store.add_reads(reads)
            self._count(len(reads))
        except Exception as exc:
            if len(group) == 1:
                group[0].error = exc
            else:
                logger.warning("group commit of %d reads failed (%s); committing each caller's "
                               "reads alone", len(reads), exc)
                self._alone(group)
        except BaseException as exc:  # interrupted: nobody may wait for a commit that never ran
            for request in group:
                request.error = request.error or exc
            raise
        finally:
            for request in group:
                request.done = True

    def _alone(self, group: list[_Request]) -> None:
        for request in group:
            self.stats.retried += 1
            try:
                self._store.add_reads(request.reads)
                self._count(len(request.reads))
            except Exception as exc:
                request.error = exc

    def _count(self, n: int) -> None:
        self.stats.reads += n
        self.stats.commits += 1
        self.stats.largest = max(self.stats.largest, n)
