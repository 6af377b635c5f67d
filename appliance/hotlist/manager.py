"""The unit's active hotlists: load, install, swap atomically, match reads, raise alerts.

Each list file (``<name>.csv|json`` + ``<name>.sig`` in the hotlist directory) is loaded on its
own; when a new version of a file is bad, the previous version of that list stays active. The
matcher over all active lists is rebuilt off to the side and swapped in with one assignment, so
a read being matched never sees half a list.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance.hotlist.matcher import Match, Matcher
from provisioning.hotlist_format import (
    Hotlist,
    HotlistError,
    RowError,
    load_signed,
    sig_path_for,
)
from provisioning.keys import write_file_atomic
from storage.types import Alert

logger = logging.getLogger(__name__)

LIST_SUFFIXES = (".csv", ".json")


def make_alert(read: Any, match: Match, version: str, now: float) -> Alert:
    """An unverified alert for one match (the unit never marks an alert confirmed)."""
    e = match.entry
    region = read.region or next((c.region for c in read.candidates if c.region), None)
    return Alert(
        alert_id=uuid.uuid4().hex, read_id=read.read_id, plate=read.plate,
        matched_entry=e.plate, matched_candidate=match.candidate, category=e.category,
        hotlist_version=version, priority=e.priority, created_wall=now, match_kind=match.kind,
        extra={"list": e.list_name, "row": e.row, "state": e.state, "source": e.source,
               "reference": e.reference, "expires": e.expires,
               "differences": match.differences, "read_region": region,
               "state_agrees": None if not (e.state and region)
               else region.upper().endswith(e.state)})


class HotlistManager:
    def __init__(self, directory: str | Path, key: Ed25519PublicKey, *, tolerance: int = 1,
                 store: Any = None, on_alert: Callable[[Alert], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.directory = Path(directory)
        self.key = key
        self.tolerance = tolerance
        self.store = store  # anything with add_alert(alert)
        self.on_alert = on_alert  # e.g. the pusher's wake() and the console's notifier
        self.clock = clock
        self.lists: dict[str, Hotlist] = {}
        self.errors: dict[str, HotlistError] = {}
        self._matcher = Matcher((), tolerance=tolerance)
        self._lock = threading.Lock()  # serialises loads; matching never takes it
        self._seen: tuple | None = None  # directory state at the last (re)load

    # -- loading --------------------------------------------------------------------------------
    def reload(self) -> dict[str, str]:
        """(Re)load every list in the directory. Returns name -> "ok <version>" or the error."""
        report = {}
        with self._lock:
            self._seen = self._dir_state()
            lists = dict(self.lists)
            names = sorted(p.name for p in self.directory.glob("*")
                           if p.suffix.lower() in LIST_SUFFIXES) if self.directory.is_dir() else []
            for name in names:
                try:
                    hl = load_signed(self.directory / name, self.key, now=self.clock())
                except HotlistError as exc:
                    self.errors[name] = exc
                    report[name] = f"refused: {exc}"
                    logger.error("hotlist %s refused, keeping %s: %s", name,
                                 lists[name].version if name in lists else "nothing", exc)
                    continue
                self.errors.pop(name, None)
                lists[name] = hl
                report[name] = f"ok {hl.version}"
            for gone in set(lists) - set(names):
                del lists[gone]
            self._swap(lists)
        return report

    def _dir_state(self) -> tuple:
        if not self.directory.is_dir():
            return ()
        return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                            for p in self.directory.iterdir() if not p.name.startswith(".")))

    def reload_if_changed(self) -> dict[str, str] | None:
        """Reload when a file in the directory changed (e.g. `alpr hotlist install` ran while the
        daemon is up). Returns the reload report, or None when nothing changed."""
        if self._dir_state() == self._seen:
            return None
        return self.reload()

    def install(self, path: str | Path) -> Hotlist:
        """Verify and validate a list (and its .sig) first, then copy both in and swap.

        A bad file raises HotlistError and changes nothing on disk or in memory."""
        path = Path(path)
        if path.suffix.lower() not in LIST_SUFFIXES:
            raise HotlistError(path.name, [RowError(0, "", "hotlists are .csv or .json")])
        hl = load_signed(path, self.key, now=self.clock())
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            for src in (sig_path_for(path), path):  # list last: it names the pair
                _atomic_copy(src, self.directory / src.name)
            lists = dict(self.lists)
            lists[path.name] = hl
            self.errors.pop(path.name, None)
            self._swap(lists)
            self._seen = self._dir_state()
        logger.info("hotlist %s version %s installed: %s entries", path.name, hl.version,
                    len(hl.entries))
        return hl

    def _swap(self, lists: dict[str, Hotlist]) -> None:
        entries = [e for hl in lists.values() for e in hl.entries]
        matcher = Matcher(entries, tolerance=self.tolerance)
        self.lists, self._matcher = lists, matcher  # the swap

    def active(self) -> dict[str, dict]:
        """What the console and `alpr hotlist show` report."""
        return {name: {"version": hl.version, "sha256": hl.sha256, "entries": len(hl.entries),
                       "categories": hl.categories, "expired_skipped": hl.expired_skipped}
                for name, hl in self.lists.items()}

    @property
    def version(self) -> str:
        """One string naming every active list version (goes into each alert)."""
        return ",".join(f"{n}@{hl.version}" for n, hl in sorted(self.lists.items())) or "none"

    # -- matching -------------------------------------------------------------------------------
    def matches(self, texts: list[str]) -> list[Match]:
        """Matches of candidate texts against the active lists (no alert raised)."""
        return self._matcher.match_candidates(texts, self.clock())

    def check(self, read: Any) -> list[Alert]:
        """Match a read's candidates; store each alert and notify. Returns the alerts."""
        matcher, version, now = self._matcher, self.version, self.clock()
        texts = [c.text for c in read.candidates] or [read.plate]
        if read.plate not in texts:
            texts.insert(0, read.plate)
        alerts = [make_alert(read, m, version, now) for m in matcher.match_candidates(texts, now)]
        for alert in alerts:
            if self.store is not None:
                self.store.add_alert(alert)
            logger.warning("HOTLIST HIT (unverified) %s %s on %s via %s", alert.category,
                           alert.matched_entry, alert.plate, alert.match_kind)
            if self.on_alert is not None:
                self.on_alert(alert)
        return alerts


def _atomic_copy(src: Path, dst: Path) -> None:
    """Copy a verified list (or its signature) in: temp file, fsync, rename, directory fsync."""
    write_file_atomic(dst, src.read_bytes(), mode=0o600)
