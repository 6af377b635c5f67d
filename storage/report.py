"""Audit reports from the access log: per user and per purpose, plus searches without a case."""

from __future__ import annotations

import csv
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

DATA_ACTIONS = frozenset({"search", "view", "alerts", "evidence_export", "hold_placed",
                          "hold_released", "holds_view", "live_view", "audit_view",
                          "audit_report", "release_request", "release_decision",
                          "release_requests_view"})
QUERY_ACTIONS = frozenset({"search", "view", "evidence_export", "live_view"})
# CSV columns, fixed so an empty table still gets its header row (auditors' tools expect one).
COLUMNS = {
    "by-user": ("user", "organisation", "role", "accesses", "searches", "views", "exports",
                "results", "without_case", "first_utc", "last_utc"),
    "by-purpose": ("purpose", "accesses", "users", "user_names"),
    "without-case": ("seq", "utc", "user", "organisation", "role", "action", "purpose",
                     "result_count", "terms"),
}


def summarise(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-user and per-purpose counts, security events, and queries that lacked a case number."""
    users: dict[tuple, dict[str, Any]] = {}
    purposes: dict[str, dict[str, Any]] = defaultdict(lambda: {"accesses": 0, "users": set()})
    no_case, security = [], 0
    for e in entries:
        if e.get("detail", {}).get("security_event"):
            security += 1
        live = e["action"].startswith("live")  # console live view/snapshot/detections
        if e["action"] not in DATA_ACTIONS and not live:
            continue
        key = (e["user"], e["organisation"], e["role"])
        u = users.setdefault(key, {"user": key[0], "organisation": key[1], "role": key[2],
                                   "accesses": 0, "searches": 0, "views": 0, "exports": 0,
                                   "results": 0, "without_case": 0, "first_utc": e["utc"],
                                   "last_utc": e["utc"]})
        u["accesses"] += 1
        u["searches"] += e["action"] == "search"
        u["views"] += e["action"] == "view"
        u["exports"] += e["action"] == "evidence_export"
        u["results"] += e.get("result_count") or 0
        u["last_utc"] = e["utc"]
        p = purposes[e.get("purpose") or ""]
        p["accesses"] += 1
        p["users"].add(e["user"])
        if (e["action"] in QUERY_ACTIONS or live) and not e.get("case_number"):
            u["without_case"] += 1
            no_case.append({k: e.get(k) for k in ("seq", "utc", "user", "organisation", "role",
                                                  "action", "purpose", "result_count")}
                           | {"terms": json.dumps(e.get("terms", {}), sort_keys=True)})
    return {
        "entries": len(entries), "security_events": security,
        "first_utc": entries[0]["utc"] if entries else None,
        "last_utc": entries[-1]["utc"] if entries else None,
        "by_user": sorted(users.values(), key=lambda u: (u["organisation"], u["user"])),
        "by_purpose": [{"purpose": k, "accesses": v["accesses"], "users": len(v["users"]),
                        "user_names": ";".join(sorted(v["users"]))}
                       for k, v in sorted(purposes.items())],
        "without_case_number": no_case,
    }


def write_report(summary: dict[str, Any], out_dir: str | os.PathLike) -> list[Path]:
    """audit-report.json plus one CSV per table; returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "audit-report.json"]
    written[0].write_text(json.dumps(summary, indent=2, sort_keys=True))
    for name, rows in (("by-user", summary["by_user"]), ("by-purpose", summary["by_purpose"]),
                       ("without-case", summary["without_case_number"])):
        path = out / f"audit-{name}.csv"
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS[name])
            writer.writeheader()
            writer.writerows(rows)
        written.append(path)
    return written
