"""OCR confusion classes for hotlist matching (the entry itself: provisioning.hotlist_format)."""

from __future__ import annotations

# Characters OCR confuses on plates; each group maps to its first character.
CONFUSION_GROUPS = ("0ODQ", "1IJL", "2Z", "4A", "5S", "6G", "8B", "UV")
CONFUSION_TABLE = str.maketrans({c: g[0] for g in CONFUSION_GROUPS for c in g})


def confusion_key(text: str) -> str:
    """Collapse confusable characters so OCR look-alikes share one key."""
    return text.translate(CONFUSION_TABLE)
