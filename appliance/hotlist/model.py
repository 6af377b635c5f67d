"""Hotlist entries, categories and their alert priorities, OCR confusion classes."""

from __future__ import annotations

from dataclasses import dataclass

# category -> alert priority (1 = highest). Persons at risk and wanted persons first.
CATEGORY_PRIORITY = {
    "missing-person": 1,
    "wanted": 1,
    "stolen-vehicle": 2,
    "stolen-plate": 2,
    "partial-plate": 3,
}
CATEGORY_ALIASES = {
    "missing person": "missing-person", "missing_person": "missing-person",
    "stolen vehicle": "stolen-vehicle", "stolen_vehicle": "stolen-vehicle",
    "stolen plate": "stolen-plate", "stolen_plate": "stolen-plate",
    "partial plate": "partial-plate", "partial_plate": "partial-plate",
    "partial": "partial-plate",
}

# Characters OCR confuses on plates; each group maps to its first character.
CONFUSION_GROUPS = ("0ODQ", "1IJL", "2Z", "4A", "5S", "6G", "8B", "UV")
CONFUSION_TABLE = str.maketrans({c: g[0] for g in CONFUSION_GROUPS for c in g})
WILDCARDS = "?*"


def confusion_key(text: str) -> str:
    """Collapse confusable characters so OCR look-alikes share one key."""
    return text.translate(CONFUSION_TABLE)


@dataclass(frozen=True, slots=True)
class HotlistEntry:
    """One row of a hotlist. ``plate`` may hold ``?`` (one character) and ``*`` (any run)."""

    plate: str
    category: str
    state: str | None = None
    source: str = ""
    expires: float | None = None  # epoch seconds; None = until the list is replaced
    reference: str | None = None  # agency's incident/case reference (never a person)
    list_name: str = ""
    row: int = 0

    @property
    def is_pattern(self) -> bool:
        return any(c in self.plate for c in WILDCARDS)

    @property
    def priority(self) -> int:
        return CATEGORY_PRIORITY[self.category]

    def active(self, now: float) -> bool:
        return self.expires is None or self.expires > now
