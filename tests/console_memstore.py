"""TEMPORARY in-memory stand-in for storage.store.Store until the store branch is merged.

It obeys the store's rules the console relies on: every query needs an AccessContext with a
purpose (and a case number for investigators) and appends to the access log with its terms.
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import asdict, dataclass


class AccessDenied(PermissionError):
    pass


class NotFound(KeyError):
    pass


@dataclass(frozen=True)
class StoredRead:
    read: object
    stored_wall: float
    uplinked: bool = False
    held: bool = False
    hit: bool = False


class MemoryStore:
    def __init__(self):
        self.reads, self.alert_list, self.log, self.events = [], [], [], []

    def _access(self, ctx, action, terms, count=None):
        if not ctx.purpose.strip() or not ctx.user or not ctx.organisation:
            raise AccessDenied("purpose required")
        if ctx.role == "investigator" and not ctx.case_number:
            raise AccessDenied("case number required")
        self.log.append({"seq": len(self.log) + 1, "time": time.time(), "user": ctx.user,
                         "organisation": ctx.organisation, "role": ctx.role,
                         "purpose": ctx.purpose, "case_number": ctx.case_number,
                         "source": ctx.source, "action": action, "terms": terms,
                         "result_count": count})

    def add_read(self, read):
        self.reads.append(StoredRead(read, time.time()))

    def add_alert(self, alert):
        self.alert_list.append(alert)

    def log_event(self, kind, detail, *, user=None, organisation=None, ctx=None):
        self.events.append((kind, detail, user, organisation))

    def record_access(self, ctx, action, *, terms=None, result_count=None):
        self._access(ctx, action, terms, result_count)

    def search_reads(self, ctx, *, plate=None, pattern=None, since=None, until=None,
                     hits_only=False, limit=100):
        glob = pattern.replace("?", "[A-Z0-9]") if pattern else None
        found = [s for s in self.reads
                 if (plate is None or s.read.plate == plate)
                 and (glob is None or fnmatch.fnmatchcase(s.read.plate, glob))
                 and (since is None or s.read.first_seen_wall >= since)
                 and (until is None or s.read.first_seen_wall <= until)][:limit]
        self._access(ctx, "search", {"plate": plate, "pattern": pattern, "since": since,
                                     "until": until, "limit": limit}, len(found))
        return found

    def get_read(self, ctx, read_id, with_images=False):
        found = [s for s in self.reads if s.read.read_id == read_id]
        self._access(ctx, "view", {"read_id": read_id, "images": with_images}, len(found))
        if not found:
            raise NotFound(read_id)
        return found[0]

    def alerts(self, ctx, limit=100):
        self._access(ctx, "alerts", {"limit": limit}, len(self.alert_list))
        return self.alert_list[:limit]

    def access_log(self, ctx, since=None, until=None):
        entries = [dict(e) for e in self.log]
        self._access(ctx, "audit_view", {"since": since, "until": until}, len(entries))
        return entries

    def verify_access_log(self):
        return True, None

    def holds(self, ctx):
        self._access(ctx, "holds", {}, 0)
        return []

    def release_requests(self):
        return []

    def stats(self):
        return {"reads": len(self.reads), "backlog": {"reads": 0}}


def _unused():
    return asdict
