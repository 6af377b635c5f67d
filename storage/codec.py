"""Reads and alerts to and from the JSON that is sealed at rest and sent in uplink batches."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

from inference.types import Candidate, Read
from storage.types import Alert

_IMAGE_FIELDS = ("crop_jpeg", "frame_jpeg")
# Field names computed once: read_meta runs for every stored read (asdict deep-copies; slow).
_META_FIELDS = tuple(f.name for f in dataclasses.fields(Read) if f.name not in _IMAGE_FIELDS)
_CANDIDATE_FIELDS = tuple(f.name for f in dataclasses.fields(Candidate))


def read_meta(read: Read) -> dict[str, Any]:
    """Everything of a read except its images (those are sealed separately)."""
    meta = {name: getattr(read, name) for name in _META_FIELDS}
    meta["candidates"] = [{name: getattr(c, name) for name in _CANDIDATE_FIELDS}
                          for c in read.candidates]
    meta["box"] = list(read.box)
    return meta


def read_from_meta(meta: dict[str, Any], crop: bytes | None = None,
                   frame: bytes | None = None) -> Read:
    fields = dict(meta)
    fields["candidates"] = tuple(Candidate(**c) for c in fields["candidates"])
    fields["box"] = tuple(fields["box"])
    return Read(**fields, crop_jpeg=crop, frame_jpeg=frame)


def read_payload(read: Read) -> dict[str, Any]:
    """A read as a JSON-safe dict with images base64-encoded (uplink batches, evidence JSON)."""
    payload = read_meta(read)
    for name in _IMAGE_FIELDS:
        data = getattr(read, name)
        payload[name + "_b64"] = base64.b64encode(data).decode() if data is not None else None
    return payload


def alert_dict(alert: Alert) -> dict[str, Any]:
    return dataclasses.asdict(alert)


def alert_from_dict(data: dict[str, Any]) -> Alert:
    return Alert(**data)


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, allow_nan=False).encode()


def loads(data: bytes) -> Any:
    return json.loads(data)
