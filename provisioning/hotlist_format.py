"""The signed hotlist file format (CSV or JSON): entries, validation, the signature envelope.

Both sides use it: the agency validates a list before signing it (`alpr agency sign-hotlist`,
provisioning.agency) and the unit verifies and loads it (appliance.hotlist). It lives in
provisioning because appliance may import provisioning, never the other way.

Signature: a detached file ``<list>.sig`` next to the list holding the base64 Ed25519 signature
over the list's exact bytes, made with the agency's hotlist key (trust/hotlist.pub on the unit).
A list with any bad row is refused as a whole, with one error per bad row.
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAX_BYTES = 64 * 1024 * 1024
MAX_ROWS = 2_000_000
COLUMNS = ("plate", "category", "state", "source", "expires", "reference")
REQUIRED = ("plate", "category")
# Column names that suggest personal data; lists carry plates, not people.
_PERSONAL = re.compile(r"name|dob|birth|address|street|city|zip|postal|phone|email|ssn|social|"
                       r"owner|driver|person|suspect|victim|race|sex|gender|height|weight|age\b|"
                       r"licen[cs]e_?(no|num)|dln|\bdl\b")
_PLATE = re.compile(r"^[A-Z0-9?*]{2,10}$")
_STATE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
_REFERENCE = re.compile(r"^[A-Za-z0-9#/._-]{1,32}$")
_VERSION = re.compile(r"^[A-Za-z0-9:._-]{1,64}$")

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
WILDCARDS = "?*"


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


class HotlistError(ValueError):
    """A hotlist was refused; ``errors`` lists every problem (row 0 = the file itself)."""

    def __init__(self, name: str, errors: list[RowError]) -> None:
        lines = "; ".join(str(e) for e in errors[:5])
        more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{name}: {lines}{more}")
        self.name = name
        self.errors = errors


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row (CSV: line number; JSON: index + 1); 0 = whole file
    field: str
    message: str

    def __str__(self) -> str:
        where = "file" if self.row == 0 else f"row {self.row}"
        field_ = f"{self.field}: " if self.field else ""
        return f"{where}: {field_}{self.message}"


@dataclass
class Hotlist:
    name: str
    version: str
    sha256: str
    entries: list[HotlistEntry]
    expired_skipped: int = 0
    categories: dict = field(default_factory=dict)


def sig_path_for(path: str | Path) -> Path:
    """Where a list's detached signature lives: ``NAME.sig`` beside ``NAME``."""
    path = Path(path)
    return path.with_name(path.name + ".sig")


def sign_envelope(data: bytes, key: Ed25519PrivateKey) -> bytes:
    """The ``.sig`` file's bytes: base64 Ed25519 over the list's exact bytes, then a newline."""
    return base64.b64encode(key.sign(data)) + b"\n"


def verify_signature(data: bytes, sig_text: bytes, key: Ed25519PublicKey) -> bool:
    try:
        key.verify(base64.b64decode(sig_text.strip(), validate=True), data)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def load_signed(path: str | Path, key: Ed25519PublicKey, *, now: float) -> Hotlist:
    """Read ``path`` and ``path.sig``, verify, parse and validate. Raises HotlistError."""
    path = Path(path)
    sig_path = sig_path_for(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise HotlistError(path.name, [RowError(0, "", f"larger than {MAX_BYTES} bytes")])
        data = path.read_bytes()
        sig = sig_path.read_bytes()
    except FileNotFoundError as exc:
        raise HotlistError(path.name, [RowError(0, "", f"missing {exc.filename}")]) from exc
    if not verify_signature(data, sig, key):
        raise HotlistError(path.name, [RowError(0, "signature",
                                                "does not verify with the agency hotlist key")])
    return parse(path.name, data, now=now)


def parse(name: str, data: bytes, *, now: float) -> Hotlist:
    """Parse + validate list bytes (signature already checked)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HotlistError(name, [RowError(0, "", "not UTF-8")]) from exc
    digest = hashlib.sha256(data).hexdigest()
    if name.lower().endswith(".json"):
        version, rows = _json_rows(name, text)
    elif name.lower().endswith(".csv"):
        version, rows = _csv_rows(name, text)
    else:
        raise HotlistError(name, [RowError(0, "", "hotlists are .csv or .json")])
    if len(rows) > MAX_ROWS:
        raise HotlistError(name, [RowError(0, "", f"more than {MAX_ROWS} rows")])
    entries, errors, expired = [], [], 0
    for rownum, row in rows:
        entry = _entry(name, rownum, row, errors)
        if entry is None:
            continue
        if not entry.active(now):
            expired += 1
            continue
        entries.append(entry)
    if errors:
        raise HotlistError(name, errors)
    cats: dict[str, int] = {}
    for e in entries:
        cats[e.category] = cats.get(e.category, 0) + 1
    return Hotlist(name=name, version=version or f"sha256:{digest[:16]}", sha256=digest,
                   entries=entries, expired_skipped=expired, categories=cats)


def _check_columns(name: str, cols: list[str]) -> None:
    errors = []
    for col in cols:
        key = col.strip().lower()
        if key in COLUMNS:
            continue
        if _PERSONAL.search(key):
            errors.append(RowError(0, col, "looks like a personal identifier; hotlists carry "
                                   "plates, never personal data"))
        else:
            errors.append(RowError(0, col, f"unknown column (allowed: {', '.join(COLUMNS)})"))
    errors += [RowError(0, c, "required column missing") for c in REQUIRED
               if c not in {x.strip().lower() for x in cols}]
    if errors:
        raise HotlistError(name, errors)


def _csv_rows(name: str, text: str) -> tuple[str | None, list[tuple[int, dict]]]:
    lines = text.splitlines()
    version = None
    start = 0
    while start < len(lines) and lines[start].startswith("#"):
        m = re.match(r"#\s*version:\s*(\S+)\s*$", lines[start])
        if m:
            version = _valid_version(name, m.group(1))
        start += 1
    reader = csv.reader(io.StringIO("\n".join(lines[start:])))
    header = next(reader, None)
    if not header:
        raise HotlistError(name, [RowError(0, "", "no header row")])
    _check_columns(name, header)
    keys = [h.strip().lower() for h in header]
    rows = []
    for i, values in enumerate(reader, start=start + 2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(keys):
            rows.append((i, {"__error__": f"{len(values)} fields, header has {len(keys)}"}))
            continue
        rows.append((i, dict(zip(keys, values, strict=True))))
    return version, rows


def _json_rows(name: str, text: str) -> tuple[str | None, list[tuple[int, dict]]]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise HotlistError(name, [RowError(0, "", f"not JSON: {exc}")]) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("entries"), list):
        raise HotlistError(name, [RowError(0, "entries", 'expected {"entries": [...]}')])
    unknown = set(doc) - {"version", "issued", "entries", "list"}
    if unknown:
        raise HotlistError(name, [RowError(0, k, "unknown top-level key") for k in sorted(unknown)])
    version = _valid_version(name, doc["version"]) if "version" in doc else None
    keys = sorted({k for e in doc["entries"] if isinstance(e, dict) for k in e})
    _check_columns(name, keys or list(REQUIRED))
    rows = [(i + 1, e if isinstance(e, dict) else {"__error__": "entry is not an object"})
            for i, e in enumerate(doc["entries"])]
    return version, rows


def _valid_version(name: str, v: object) -> str:
    if not isinstance(v, str) or not _VERSION.match(v):
        raise HotlistError(name, [RowError(0, "version", "1-64 of A-Z a-z 0-9 : . _ -")])
    return v


def _entry(name: str, rownum: int, row: dict, errors: list[RowError]) -> HotlistEntry | None:
    if "__error__" in row:
        errors.append(RowError(rownum, "", row["__error__"]))
        return None
    before = len(errors)

    def text(key: str) -> str:
        v = row.get(key)
        if v is not None and not isinstance(v, str):
            errors.append(RowError(rownum, key, "must be a string"))
            return ""
        return (v or "").strip()

    plate = re.sub(r"[\s-]", "", text("plate").upper())
    if not _PLATE.match(plate):
        errors.append(RowError(rownum, "plate", f"{plate!r}: 2-10 of A-Z 0-9 ? *"))
    elif sum(c.isalnum() for c in plate) < 3:
        errors.append(RowError(rownum, "plate", f"{plate!r}: a pattern needs 3+ known characters"))
    category = CATEGORY_ALIASES.get(text("category").lower(), text("category").lower())
    if category not in CATEGORY_PRIORITY:
        errors.append(RowError(rownum, "category",
                               f"{category!r} not one of {', '.join(CATEGORY_PRIORITY)}"))
    state = text("state").upper() or None
    if state and not _STATE.match(state):
        errors.append(RowError(rownum, "state", f"{state!r}: two letters, e.g. CA or US-CA"))
    source = text("source")
    if len(source) > 64:
        errors.append(RowError(rownum, "source", "longer than 64 characters"))
    reference = text("reference") or None
    if reference and not _REFERENCE.match(reference):
        errors.append(RowError(rownum, "reference", "1-32 of A-Z a-z 0-9 # / . _ -"))
    expires = _expiry(text("expires"), rownum, errors)
    if len(errors) > before:
        return None
    return HotlistEntry(plate=plate, category=category, state=state, source=source,
                        expires=expires, reference=reference, list_name=name, row=rownum)


def _expiry(value: str, rownum: int, errors: list[RowError]) -> float | None:
    if not value:
        return None
    try:
        if len(value) == 10:  # a date: valid through the end of that day (UTC)
            day = dt.date.fromisoformat(value)
            return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp()
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        errors.append(RowError(rownum, "expires", f"{value!r}: ISO date or date-time"))
        return None
    if when.tzinfo is None:
        errors.append(RowError(rownum, "expires", f"{value!r}: date-time needs a time zone"))
        return None
    return when.timestamp()
