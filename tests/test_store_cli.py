"""The store's `alpr` commands, run in-process against a real data directory."""

from __future__ import annotations

import csv
import json
import sqlite3
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from store_helpers import INVESTIGATOR, make_read, open_store

from appliance.cli import main
from storage.keys import load_or_create_dev_kek

WHO = ["--organisation", "Springfield PD", "--user", "det.jones", "--purpose", "burglary case"]


@pytest.fixture
def unit(tmp_path):
    data = tmp_path / "data"
    kek = load_or_create_dev_kek(data / "keys" / "kek.bin")
    key = Ed25519PrivateKey.generate()
    ident = data / "keys" / "identity.key"
    ident.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    ident.chmod(0o600)
    pub = tmp_path / "identity.pub"
    pub.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    store = open_store(data / "store.db", kek, signer=key)
    reads = [make_read("7ABC123", frame_bytes=2000), make_read("7ABC124")]
    for r in reads:
        store.add_read(r)
    store.search_reads(INVESTIGATOR, plate="7ABC123")
    store.close()
    return {"data": data, "reads": reads, "pub": pub, "tmp": tmp_path}


def _alpr(capsys, *argv) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_hold_export_verify(unit, capsys):
    d = ["--data-dir", str(unit["data"])]
    ids = [r.read_id for r in unit["reads"]]
    code, out = _alpr(capsys, "hold", "place", *ids, *d, *WHO, "--case", "C-9", "--reason", "x")
    assert code == 0 and out.count("hold ") == 2
    code, out = _alpr(capsys, "hold", "list", *d, *WHO, "--case", "C-9")
    assert code == 0 and len(out.strip().splitlines()) == 2
    pkg = unit["tmp"] / "c9.zip"
    code, out = _alpr(capsys, "evidence", "export", *d, *WHO, "--case", "C-9", "--out", str(pkg))
    assert code == 0, out
    code, out = _alpr(capsys, "evidence", "verify", str(pkg), "--pubkey", str(unit["pub"]))
    assert code == 0 and out.startswith("OK"), out
    bad = unit["tmp"] / "bad.zip"
    with zipfile.ZipFile(pkg) as src, zipfile.ZipFile(bad, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "reads.json":
                data = data.replace(b"7ABC124", b"7ABC999")
            dst.writestr(name, data)
    code, out = _alpr(capsys, "evidence", "verify", str(bad), "--pubkey", str(unit["pub"]))
    assert code == 1 and "ALTERED: reads.json" in out
    code, out = _alpr(capsys, "evidence", "verify", str(unit["tmp"] / "nope.zip"))
    assert code == 1 and "cannot read package" in out


def test_export_outside_agency_needs_request(unit, capsys):
    d = ["--data-dir", str(unit["data"]), "--agency", "Springfield PD"]
    _alpr(capsys, "hold", "place", unit["reads"][0].read_id, *d, *WHO, "--case", "C-1",
          "--reason", "x")
    out_zip = str(unit["tmp"] / "da.zip")
    code, out = _alpr(capsys, "evidence", "export", *d, *WHO, "--case", "C-1", "--out", out_zip,
                      "--recipient-agency", "County DA")
    assert code == 1 and "approved release request" in out
    code, out = _alpr(capsys, "release", "record", *d, *WHO, "--requesting-agency", "County DA",
                      "--agency-type", "prosecutorial", "--requester", "ADA Lee",
                      "--request-purpose", "trial")
    assert code == 0 and "request 1: pending" in out
    code, out = _alpr(capsys, "release", "decide", "1", "--approve", "--note", "ok", *d, *WHO)
    assert code == 0 and "approved" in out
    code, out = _alpr(capsys, "evidence", "export", *d, *WHO, "--case", "C-1", "--out", out_zip,
                      "--recipient-agency", "County DA", "--request", "1")
    assert code == 0, out


def test_audit_verify_and_report(unit, capsys):
    d = ["--data-dir", str(unit["data"])]
    code, out = _alpr(capsys, "audit", "verify", *d, "--pubkey", str(unit["pub"]))
    assert code == 0 and out.startswith("OK"), out
    report = unit["tmp"] / "report"
    code, out = _alpr(capsys, "audit", "report", *d, *WHO, "--out", str(report))
    assert code == 0, out
    summary = json.loads((report / "audit-report.json").read_text())
    assert summary["by_user"][0]["user"] == "det.jones"
    with (report / "audit-by-user.csv").open() as fh:
        assert next(csv.DictReader(fh))["searches"] == "1"
    assert (report / "audit-by-purpose.csv").exists()
    conn = sqlite3.connect(unit["data"] / "store.db")
    conn.execute("DROP TRIGGER access_log_no_delete")
    conn.execute("DELETE FROM access_log WHERE seq=2")
    conn.commit()
    conn.close()
    code, out = _alpr(capsys, "audit", "verify", *d)
    assert code == 1 and "entry 2" in out


def test_store_stats_and_purge(unit, capsys):
    d = ["--data-dir", str(unit["data"])]
    code, out = _alpr(capsys, "store", "stats", *d)
    assert code == 0 and json.loads(out)["reads"] == 2
    code, out = _alpr(capsys, "store", "purge", *d, "--max-retention-days", "0")
    assert code == 0 and json.loads(out)
    code, out = _alpr(capsys, "store", "stats", *d)
    assert json.loads(out)["reads"] == 0


def test_group_readable_kek_is_refused(unit, capsys):
    (unit["data"] / "keys" / "kek.bin").chmod(0o644)
    code, out = _alpr(capsys, "store", "stats", "--data-dir", str(unit["data"]))
    assert code == 1 and "chmod 600" in out


def test_store_search_hits_only(unit, capsys):
    from storage.types import Alert

    kek = load_or_create_dev_kek(unit["data"] / "keys" / "kek.bin")
    store = open_store(unit["data"] / "store.db", kek)
    hit = unit["reads"][1]
    store.add_alert(Alert("a1", hit.read_id, hit.plate, hit.plate, hit.plate, "stolen-vehicle",
                          "v1", 1, 1_700_000_000.0))
    store.close()
    d = ["--data-dir", str(unit["data"])]
    code, out = _alpr(capsys, "store", "search", *d, *WHO, "--pattern", "7AB*")
    assert code == 0 and out.count("7ABC12") == 2 and "2 read(s)" in out
    code, out = _alpr(capsys, "store", "search", *d, *WHO, "--pattern", "7AB*", "--hits-only")
    assert code == 0 and "7ABC124\t0.93\thit\t" + hit.read_id in out and "7ABC123" not in out
    code, out = _alpr(capsys, "store", "search", *d, *WHO, "--pattern", "*")
    assert code == 1 and "no letter or digit" in out
    code, out = _alpr(capsys, "audit", "report", *d, *WHO, "--out", str(unit["tmp"] / "r"))
    terms = [json.loads(row["terms"]) for row in csv.DictReader(
        (unit["tmp"] / "r" / "audit-without-case.csv").open())]
    assert {"pattern": "7AB*", "hits_only": True}.items() <= terms[1].items()


def test_empty_audit_report_csvs_have_headers(tmp_path):
    from storage.report import COLUMNS, summarise, write_report

    write_report(summarise([]), tmp_path)
    for name, columns in COLUMNS.items():
        assert (tmp_path / f"audit-{name}.csv").read_text().splitlines() == [",".join(columns)]
