"""A bounded queue where the newest item wins: put never blocks, the oldest item is dropped."""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class NewestWinsQueue(Generic[T]):
    """Between the camera and recognition: the camera never waits, stale frames are dropped.

    `dropped` counts items evicted unprocessed. After close(), get() drains what is left and
    then returns None, so workers finish the work in flight before they exit.
    """

    def __init__(self, maxsize: int):
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self.maxsize = maxsize
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0
        self.put_count = 0

    def put(self, item: T) -> T | None:
        """Add item; return the item it evicted (already counted in `dropped`), if any.

        After close() (shutdown past a hung camera) the item itself is dropped and counted.
        """
        with self._cond:
            if self._closed:
                self.dropped += 1
                return item
            evicted = None
            if len(self._items) >= self.maxsize:
                evicted = self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self.put_count += 1
            self._cond.notify()
            return evicted

    def get(self, timeout: float | None = None) -> T | None:
        """The oldest waiting item; None when closed and empty (or on timeout)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self._closed, timeout):
                return None
            return self._items.popleft() if self._items else None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
