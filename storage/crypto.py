"""Sealing records with AES-256-GCM and the keyed blind indexes that make sealed plates searchable.

Every sealed blob is `nonce(12) || ciphertext+tag`, with a fresh random nonce, and associated
data naming the record id, key id, period and kind: a blob moved to another row, period or
field fails to open. Exact plates are indexed by an HMAC token under a subkey of the data key
itself, so destroying a period's data key also makes its tokens meaningless.
"""

from __future__ import annotations

import hmac
import os
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.exc import WrongKeyError

NONCE_BYTES = 12
_PLATE_CHARS = re.compile(r"[^A-Z0-9]")
_PATTERN_OK = re.compile(r"^[A-Z0-9*?]+$")


def normalise_plate(text: str) -> str:
    """Uppercase A-Z0-9 only: the form plates are indexed and compared in."""
    return _PLATE_CHARS.sub("", text.upper())


def _subkey(key: bytes, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"alpr-store/v1/{label}".encode()).derive(key)


@dataclass
class DataKey:
    """An unwrapped data key (one retention period, a hold key or the audit key)."""

    key_id: int
    period: int
    raw: bytes = field(repr=False)

    def __post_init__(self) -> None:
        self._aead = AESGCM(self.raw)
        self._exact = _subkey(self.raw, "blind-index/exact")

    def _aad(self, record_id: str, kind: str) -> bytes:
        return f"alpr1|{kind}|k{self.key_id}|p{self.period}|{record_id}".encode()

    def seal(self, record_id: str, kind: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, self._aad(record_id, kind))

    def open(self, record_id: str, kind: str, blob: bytes) -> bytes:
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:],
                                      self._aad(record_id, kind))
        except InvalidTag:
            raise WrongKeyError(f"sealed {kind} of record {record_id} does not authenticate "
                                "(altered, moved between rows, or wrong key)") from None

    def plate_token(self, plate: str) -> bytes:
        """Exact-match blind index of a plate (16 bytes)."""
        return hmac.digest(self._exact, normalise_plate(plate).encode(), "sha256")[:16]


@dataclass(frozen=True)
class PlatePattern:
    """A partial-plate pattern: `*` any run of characters, `?` exactly one.

    It must name at least one letter or digit: `*`, `?*` or `???` would select every read and
    are refused (to list reads, search without a plate).
    """

    text: str
    regex: re.Pattern = field(compare=False)

    @classmethod
    def parse(cls, text: str) -> PlatePattern:
        norm = text.strip().upper().replace(" ", "").replace("-", "")
        if not norm or not _PATTERN_OK.match(norm):
            raise ValueError(f"bad plate pattern {text!r}: use A-Z, 0-9, '*' (any run) and "
                             "'?' (one character)")
        if not norm.strip("*?"):
            raise ValueError(f"plate pattern {text!r} names no letter or digit: give at least "
                             "one (or search without a plate to list reads)")
        norm = re.sub(r"\*+", "*", norm)
        regex = re.compile("".join(".*" if c == "*" else "." if c == "?" else c for c in norm))
        return cls(norm, regex)

    def matches(self, plate: str) -> bool:
        return self.regex.fullmatch(normalise_plate(plate)) is not None
