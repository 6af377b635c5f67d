"""Read sinks that need no store: the default of `alpr run` until the encrypted store is wired."""

from __future__ import annotations

import logging
import threading
from collections import deque

from inference.types import Read

logger = logging.getLogger(__name__)


class MemorySink:
    """Counts reads and keeps the last `keep` of them in memory (nothing is written to disk).

    Plate text is never logged: logs are not encrypted, reads are evidence.
    """

    def __init__(self, keep: int = 1000):
        self.count = 0
        self.recent: deque[Read] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def handle(self, read: Read) -> None:
        with self._lock:
            self.count += 1
            self.recent.append(read)
        logger.info("read %s (confidence %.2f, %d frames)", read.read_id, read.confidence,
                    read.frames_used)

    def plates(self) -> list[str]:
        with self._lock:
            return [r.plate for r in self.recent]
