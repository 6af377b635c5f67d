"""Plate formats per region, and format-aware ranking of OCR candidates.

A pattern is a string over `L` (letter), `D` (digit) and `A` (either), one symbol per
character of the plate text (separators are not part of the text). Patterns rank candidates;
they never remove the raw readings, which hotlist matching still needs (vanity plates match no
pattern and must survive).

Confusion-aware substitution: when a pattern asks for a digit where the model read a letter
that is easily mistaken for one (O for 0, S for 5 ...), the substitute is taken from the
model's own probabilities for that slot, restricted to the confusion group. Nothing is ever
substituted where no pattern asks for it.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from inference.types import Candidate

logger = logging.getLogger(__name__)

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
DIGITS = frozenset("0123456789")
# Spain's and the Netherlands' serials use no vowels (nor Q): pattern symbol C.
CONSONANTS = LETTERS - frozenset("AEIOUQ")
CLASSES = {"L": LETTERS, "D": DIGITS, "C": CONSONANTS}  # pattern symbol -> characters

# Groups of characters an OCR confuses; a substitution stays inside one group.
CONFUSION_GROUPS: tuple[frozenset[str], ...] = (
    frozenset("0ODQ"),
    frozenset("1IL7T"),
    frozenset("2Z"),
    frozenset("5S"),
    frozenset("8B"),
    frozenset("6G"),
    frozenset("4A"),
    frozenset("UV"),
)

# Pairs that European and Brazilian plate fonts draw (nearly) alike: the UK's O and 0, DIN's
# and Brazil's I and 1. The crop holds little evidence between them, so the model's preference
# is mostly its training prior; for those patterns a substitution inside one of these pairs
# costs at most LOOKALIKE_COST, and a pattern match (PATTERN_BONUS) outweighs one and, on a
# tie, two of them. US fonts draw them apart (a sure 0 in a US plate is a 0: `N0G0DS`,
# `1A2E468`), so US patterns pay the model's own cost; so do Germany (FE-Schrift draws 0/O and
# 1/I apart on purpose), the Netherlands (no vowels on plates) and Austria, whose many shapes
# would otherwise take almost any reading with a 0 or 1 in it.
LOOKALIKES: tuple[frozenset[str], ...] = (frozenset("0O"), frozenset("1I"))
LOOKALIKE_COST = math.log(2.0)
LOOKALIKE_FAMILY = ("EU-", "BR")  # region codes whose fonts draw the pairs alike ...
LOOKALIKE_EXCEPT = frozenset({"EU-DE", "EU-NL", "EU-AT"})  # ... except these

# Region code -> patterns, most common first. US: California first, then other states' current
# and older serial formats. EU: national formats without separators.
US_PATTERNS: dict[str, tuple[str, ...]] = {
    "US-CA": ("DLLLDDD", "DDDLLL", "LLLDDD", "DLLLDD"),
    "US-NY": ("LLLDDDD", "LLLDDD"),
    "US-TX": ("LLLDDDD", "LLDLDDD", "DDDLLL"),
    "US-FL": ("LLLLDD", "LLLDLL", "DDDLLL", "LLLDDD"),
    "US-IL": ("LLDDDDD", "LDDDDDD", "LLLDDD"),
    "US-NJ": ("LDDLLL", "LLLDDL", "LLLDDD"),
    "US-MD": ("DLLDDDD", "DLLDDD", "LLLDDD"),
    "US-MA": ("DLLLDD", "DDDLLL", "DLLDDD"),
    "US-NV": ("DDDLDDD", "DDLDDD", "DDDLLL"),
    "US-NH": ("DDDDDDD", "DDDDDD"),
    "US-CT": ("LLDDDDD", "DDDLLL", "LLDDDDD"),
    "US-ID": ("DLDDDDD", "DLLDDDD"),
    "US-DC": ("LLDDDD",),
    "US-IN": ("DDDLLL", "DDDLL"),
    "US-MI": ("LLLDDDD", "DLLLDD"),
    "US-WA": ("LLLDDDD", "DDDLLL"),
    "US-PA": ("LLLDDDD",),
    "US-OH": ("LLLDDDD", "LLDDDD"),
    "US-GA": ("LLLDDDD", "DDDLLL"),
    "US-NC": ("LLLDDDD", "LLLDDD"),
    "US-VA": ("LLLDDDD", "LLLDDD"),
    "US-AZ": ("LLLDDDD", "LLLDDD"),
    "US-MO": ("LLDLDL", "LLDDDL"),
    "US-CO": ("LLLLDD", "DDDLLL", "LLLDDD"),
    "US-AL": ("DDLDDDD", "DLDDDDD"),
    "US-UT": ("LDDDLL", "DDDLLL"),
    "US-OR": ("DDDLLL", "LLLDDD"),
    "US-DE": ("DDDDDD", "DDDDD"),
    "US-GEN": ("LLLDDDD", "LLLDDD", "DDDLLL", "LLDDDD", "DDDDLL", "LLLLDDD", "DLLDDD"),
}

def _german() -> tuple[str, ...]:
    """District (1-3 letters) + 1-2 letters, then 1-4 digits, at most 8 characters; the
    commonest shapes first."""
    common = ("LLDDDD", "LLLDDDD", "LLDDD", "LLLDDD", "LLLLDDD", "LLLLDDDD", "LDDDD", "LLDD")
    rest = tuple("L" * n + "D" * d for n in range(2, 6) for d in range(1, 5) if n + d <= 8)
    return common + tuple(p for p in rest if p not in common)


EU_PATTERNS: dict[str, tuple[str, ...]] = {
    "EU-DE": _german(),
    "EU-FR": ("LLDDDLL",),
    "EU-IT": ("LLDDDLL",),
    "EU-ES": ("DDDDCCC",),
    "EU-NL": ("CCDDDC", "DDCCCD", "DCCCDD", "CDDDCC", "CCCDDC", "DCCDDD", "CCDDCC", "DDCCDD",
              "DDDDCC", "CCDDDD"),
    "EU-PL": ("LLDDDDD", "LLLDDDD", "LLLDDLL"),
    "EU-RO": ("LDDLLL", "LDDDLLL", "LLDDLLL", "LDDDDDD", "LLDDDDDD"),  # + provisional plates
    "EU-UK": ("LLDDLLL",),
    "EU-BE": ("DLLLDDD",),
    "EU-PT": ("LLDDLL", "DDLLDD"),
    "EU-AT": ("LDDDDL", "LLDDDL", "LDDDLL"),
    "EU-CZ": ("DLDDDDD", "DLLDDDD"),
    "EU-SE": ("LLLDDD", "LLLDDL"),
    "EU-DK": ("LLDDDDD",),
    "EU-NO": ("LLDDDDD",),
    "EU-FI": ("LLLDDD", "LLDDD"),
    "EU-HU": ("LLLDDD", "LLLLDDD"),
    "EU-GR": ("LLLDDDD",),
    "EU-HR": ("LLDDDLL", "LLDDDDLL"),
    "EU-SK": ("LLDDDLL",),
    "EU-BG": ("LLDDDDLL",),
    "EU-LT": ("LLLDDD",),
    "EU-LV": ("LLDDDD",),
    "EU-EE": ("DDDLLL",),
    "EU-LU": ("LLDDDD",),
    "EU-IE": ("DDDLDDDDD", "DDLLDDDD", "DDDLLDDDD", "DDLDDDD"),
}
OTHER_PATTERNS: dict[str, tuple[str, ...]] = {
    "BR": ("LLLDDDD", "LLLDLDD"),  # old grey plates (LLL-9999) and Mercosur (LLL9L99)
}
REGION_FAMILIES = ("us", "eu", "br", "auto")


def patterns_for(region: str) -> dict[str, tuple[str, ...]]:
    """Patterns for `region` ("us", "eu", "br", "auto" = all, or one code such as "US-CA")."""
    if region == "us":
        return US_PATTERNS
    if region == "eu":
        return EU_PATTERNS
    if region == "br":
        return OTHER_PATTERNS
    if region == "auto":
        return {**US_PATTERNS, **EU_PATTERNS, **OTHER_PATTERNS}
    for table in (US_PATTERNS, EU_PATTERNS, OTHER_PATTERNS):
        if region in table:
            return {region: table[region]}
    raise ValueError(f"unknown plate region {region!r}; use us, eu, auto or a code like US-CA")


def normalise(text: str) -> str:
    """Uppercase A-Z0-9 only: the form every comparison and every Read uses."""
    return re.sub(r"[^A-Za-z0-9]", "", text).upper()


def matches(text: str, pattern: str) -> bool:
    if len(text) != len(pattern):
        return False
    for ch, p in zip(text, pattern, strict=True):
        if ch not in CLASSES[p]:
            return False
    return True


@functools.lru_cache(maxsize=64)
def _by_length(region: str) -> dict[int, tuple[tuple[str, str, bool], ...]]:
    """length -> ((pattern, code, look-alike rule), ...): each distinct pattern once per
    look-alike rule (see LOOKALIKE_FAMILY), with the first region code (in table order) that
    has it; ranking tries every pattern for every alternative, so the duplicates across states
    and countries would only cost time."""
    out: dict[int, dict[tuple[str, bool], str]] = {}
    for code, pats in patterns_for(region).items():
        for pat in pats:
            out.setdefault(len(pat), {}).setdefault((pat, _lookalike(code)), code)
    return {n: tuple((pat, code, rule) for (pat, rule), code in d.items())
            for n, d in out.items()}


def _lookalike(code: str) -> bool:
    return code.startswith(LOOKALIKE_FAMILY) and code not in LOOKALIKE_EXCEPT


def matching_region(text: str, region: str = "auto") -> str | None:
    """The first region code whose patterns accept `text` (None: no pattern, e.g. vanity)."""
    for pat, code, _ in _by_length(region).get(len(text), ()):
        if matches(text, pat):
            return code
    return None


@functools.lru_cache(maxsize=64)
def _confusable(ch: str) -> frozenset[str]:
    out: set[str] = set()
    for group in CONFUSION_GROUPS:
        if ch in group:
            out |= group
    return frozenset(out)


_INDEX = {c: i for i, c in enumerate(ALPHABET)}


def _allowed(symbol: str) -> frozenset[str]:
    return CLASSES.get(symbol, LETTERS | DIGITS)


Slot = dict[str, tuple[str, float] | None]  # pattern symbol -> (character, cost) or unreachable


def _cost(ch: str, new: str, row: np.ndarray, lookalike: bool) -> float:
    """Log-probability lost by reading `new` where the model read `ch` (capped for look-alikes
    when `lookalike`)."""
    cost = math.log(max(float(row[_INDEX[ch]]), 1e-9)) - math.log(max(float(row[_INDEX[new]]),
                                                                       1e-9))
    if lookalike and frozenset((ch, new)) in LOOKALIKES:
        return min(cost, LOOKALIKE_COST)
    return cost


def _slot(ch: str, row: np.ndarray | None, lookalike: bool) -> Slot:
    """What one read character becomes under each pattern symbol, at what log-prob cost."""
    out: Slot = {"A": (ch, 0.0)}
    for sym in CLASSES:
        allowed = _allowed(sym)
        if ch in allowed:
            out[sym] = (ch, 0.0)
            continue
        options = sorted(_confusable(ch) & allowed)
        if not options:
            out[sym] = None
        elif row is not None:
            out[sym] = min(((c, _cost(ch, c, row, lookalike)) for c in options),
                           key=lambda o: o[1])
        else:
            out[sym] = (options[0], 2.0)
    return out


def _slots(text: str, probs: np.ndarray | None, lookalike: bool = False) -> list[Slot]:
    return [_slot(ch, probs[i] if probs is not None and i < len(probs) else None, lookalike)
            for i, ch in enumerate(text)]


def _fit(slots: list[Slot], pattern: str) -> tuple[str, float] | None:
    if len(slots) != len(pattern):
        return None
    out, cost = [], 0.0
    for slot, sym in zip(slots, pattern, strict=True):
        hit = slot[sym]
        if hit is None:
            return None
        out.append(hit[0])
        cost += hit[1]
    return "".join(out), cost


def coerce(text: str, pattern: str, probs: np.ndarray | None = None) -> tuple[str, float] | None:
    """Fit `text` to `pattern` by confusion substitutions only; returns (text, log-prob cost).

    `probs` (one row per character, columns in ALPHABET order) picks the likeliest substitute
    inside the confusion group; without it the first group member in ALPHABET order is used.
    None if the pattern cannot be reached (a character outside any useful group, or a
    different length).
    """
    if len(text) != len(pattern):
        return None
    return _fit(_slots(text, probs), pattern)


@dataclass(frozen=True)
class Scored:
    text: str
    logp: float  # model log-probability of the string
    region: str | None


# A matching pattern is worth this much log-probability: a reading that needs a confusion
# substitution to fit a pattern beats the raw reading only when the model was unsure.
PATTERN_BONUS = math.log(4.0)


def rank(
    raw: Sequence[tuple[str, float]],
    region: str = "us",
    probs: np.ndarray | None = None,
    top_n: int = 5,
    probs_of: str | None = None,
) -> list[Candidate]:
    """Rank raw (text, probability) readings with the region's patterns.

    Every raw reading is kept; pattern-coerced variants are added. Order is by model
    log-probability plus PATTERN_BONUS for a pattern match of the best reading's length
    (patterns fix character classes, not the length the model read); each Candidate's
    confidence is the model's probability of that exact string. `probs` are the per-character
    distributions of one reading, `probs_of` (default: the first raw reading): they price
    substitutions in that reading only, since another reading of the same length has other
    characters at those positions (the others are priced without them).
    """
    patterns_for(region)  # an unknown region fails here
    scored: dict[str, tuple[float, Scored]] = {}
    best_len = len(normalise(raw[0][0])) if raw else 0
    probs_of = normalise(probs_of if probs_of is not None else raw[0][0] if raw else "")

    def add(text: str, logp: float, code: str | None) -> None:
        key = logp + (PATTERN_BONUS if code and len(text) == best_len else 0.0)
        if text not in scored or key > scored[text][0]:
            scored[text] = (key, Scored(text, logp, code))

    for text, p in raw:
        text = normalise(text)
        if not text:
            continue
        logp = math.log(max(p, 1e-12))
        add(text, logp, matching_region(text, region))
        rows = probs if probs is not None and text == probs_of and len(probs) == len(text) \
            else None
        pats = _by_length(region).get(len(text), ())
        slots = {rule: _slots(text, rows, rule) for rule in {r for *_, r in pats}}
        for pat, code, rule in pats:
            fixed = _fit(slots[rule], pat)
            if fixed and fixed[0] != text:
                add(fixed[0], logp - fixed[1], code)
    # Equal scores (two look-alike substitutions cost exactly the bonus) go to the reading
    # that fits a pattern: UK NGIOFRP -> NG10FRP.
    ordered = sorted(scored.values(),
                     key=lambda kv: (-round(kv[0], 9), kv[1].region is None))[:top_n]
    return [Candidate(s.text, float(min(1.0, math.exp(s.logp))), s.region) for _, s in ordered]


def random_text(rng: np.random.Generator, region_code: str, letters: str | None = None) -> str:
    """A random plate string fitting one of `region_code`'s patterns (used by the renderer).
    `letters`: the letters a serial draws from, uniformly (default: I, O, Q rarely)."""
    pats = patterns_for(region_code)[region_code]
    pat = pats[int(rng.integers(len(pats)))] if rng.random() < 0.5 else pats[0]
    out = []
    for sym in pat:
        pool = "ABCDEFGHJKLMNPRSTUVWXYZ" if sym == "L" else "0123456789" if sym == "D" else ALPHABET
        if sym == "C":
            pool = "".join(sorted(CONSONANTS & set(letters or CONSONANTS) or CONSONANTS))
        elif sym == "L" and letters is not None:
            pool = letters
        elif sym == "L" and rng.random() < 0.08:
            pool = "IOQ"  # rarely used in serials, but must be readable
        out.append(pool[int(rng.integers(len(pool)))])
    return "".join(out)
