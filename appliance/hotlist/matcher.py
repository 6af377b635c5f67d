"""Match a read's candidates against hotlist entries in well under a millisecond.

Index (built once per list swap, read-only afterwards):
- exact plates: a dict plate -> entries;
- confusion keys: a dict confusion_key(plate) -> entries (OCR look-alikes share a key; a hit is
  kept when at most ``tolerance`` positions differ);
- fixed-length patterns (``?`` only): a dict (length, position, key char) on each pattern's first
  known character, so a candidate looks at ``len`` buckets instead of every pattern;
- ``*`` patterns: a dict on each pattern's longest known run, probed with the candidate's
  substrings.
Each lookup costs a handful of dict probes per candidate, independent of the list size.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from appliance.hotlist.model import confusion_key
from provisioning.hotlist_format import HotlistEntry

_KIND_RANK = {"exact": 0, "pattern": 1, "confusion": 2}


@dataclass(frozen=True, slots=True)
class Match:
    entry: HotlistEntry
    candidate: str
    kind: str  # exact | pattern | confusion
    differences: int  # confusable characters that differ (0 for exact/pattern)


def _diff(a: str, b: str, positions: Iterable[int]) -> int:
    return sum(1 for i in positions if a[i] != b[i])


class _StarPattern:
    """A ``*`` pattern as a regex over confusion keys; literal runs are groups, for counting."""

    def __init__(self, entry: HotlistEntry) -> None:
        self.entry = entry
        self.runs = [r for r in re.split(r"[*]+", entry.plate)]
        parts = []
        for i, run in enumerate(self.runs):
            if i:
                parts.append(".*?")
            parts += ["." if c == "?" else f"({re.escape(confusion_key(c))})" for c in run]
        self.regex = re.compile("^" + "".join(parts) + "$")
        self.literals = [c for c in entry.plate if c not in "?*"]
        self.anchor = confusion_key(max(re.split(r"[*?]+", entry.plate), key=len))

    def match(self, cand: str, key: str) -> int | None:
        """Differences between the candidate and the pattern's known characters, or None."""
        m = self.regex.match(key)
        if m is None:
            return None
        return sum(1 for g, lit in enumerate(self.literals, 1) if cand[m.start(g)] != lit)


class Matcher:
    def __init__(self, entries: Iterable[HotlistEntry], *, tolerance: int = 1) -> None:
        self.tolerance = tolerance
        self.exact: dict[str, list[HotlistEntry]] = defaultdict(list)
        self.confusable: dict[str, list[HotlistEntry]] = defaultdict(list)
        self.fixed: dict[tuple[int, int, str], list[tuple[HotlistEntry, str, tuple]]] = (
            defaultdict(list))
        self.star: dict[str, list[_StarPattern]] = defaultdict(list)
        self.star_lengths: set[int] = set()
        self.size = 0
        for e in entries:
            self._add(e)
        for table in (self.exact, self.confusable, self.fixed, self.star):
            table.default_factory = None  # lookups must not grow the index

    def _add(self, e: HotlistEntry) -> None:
        self.size += 1
        if "*" in e.plate:
            sp = _StarPattern(e)
            self.star[sp.anchor].append(sp)
            self.star_lengths.add(len(sp.anchor))
        elif "?" in e.plate:
            key = confusion_key(e.plate)
            known = tuple(i for i, c in enumerate(e.plate) if c != "?")
            self.fixed[(len(e.plate), known[0], key[known[0]])].append((e, key, known))
        else:
            self.exact[e.plate].append(e)
            self.confusable[confusion_key(e.plate)].append(e)

    def match_text(self, cand: str, now: float) -> list[Match]:
        """Every entry ``cand`` matches (exact, pattern, or within the confusion tolerance)."""
        out: list[Match] = []
        tol = self.tolerance
        for e in self.exact.get(cand, ()):
            out.append(Match(e, cand, "exact", 0))
        key = confusion_key(cand)
        if tol:
            for e in self.confusable.get(key, ()):
                d = _diff(cand, e.plate, range(len(cand)))
                if 0 < d <= tol:
                    out.append(Match(e, cand, "confusion", d))
        n = len(cand)
        for pos in range(n):
            for e, pkey, known in self.fixed.get((n, pos, key[pos]), ()):
                if all(key[i] == pkey[i] for i in known):
                    d = _diff(cand, e.plate, known)
                    if d <= tol:
                        out.append(Match(e, cand, "pattern" if d == 0 else "confusion", d))
        if self.star:
            out += self._match_star(cand, key)
        return [m for m in out if m.entry.active(now)]

    def _match_star(self, cand: str, key: str) -> list[Match]:
        out, seen = [], set()
        for size in self.star_lengths:
            for start in range(len(key) - size + 1):
                for sp in self.star.get(key[start:start + size], ()):
                    if id(sp) in seen:
                        continue
                    seen.add(id(sp))
                    d = sp.match(cand, key)
                    if d is not None and d <= self.tolerance:
                        out.append(Match(sp.entry, cand, "pattern" if d == 0 else "confusion", d))
        return out

    def match_candidates(self, texts: Iterable[str], now: float) -> list[Match]:
        """Best match per entry over a read's candidates (best candidate first)."""
        best: dict[int, Match] = {}
        for text in texts:
            for m in self.match_text(text, now):
                cur = best.get(id(m.entry))
                if cur is None or _KIND_RANK[m.kind] < _KIND_RANK[cur.kind]:
                    best[id(m.entry)] = m
        return sorted(best.values(), key=lambda m: (m.entry.priority, _KIND_RANK[m.kind]))
