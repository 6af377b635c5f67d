"""Evidence holds, evidence export and the release register (mixed into Store)."""

from __future__ import annotations


class Custody:
    pass
