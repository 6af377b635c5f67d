"""Hotlist files: signature, per-row validation, no personal data, atomic swap, bad keeps old."""

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.hotlist.manager import HotlistManager
from appliance.uplink.sim import make_read
from provisioning.hotlist_format import (
    HotlistError,
    load_signed,
    parse,
    sig_path_for,
    sign_envelope,
    verify_signature,
)

NOW = 1.8e9
KEY = Ed25519PrivateKey.generate()

CSV = b"""# version: 2026-11-29.1
plate,state,category,source,expires,reference
7ABC123,CA,stolen vehicle,CHP,2099-01-01,INC-77
8XYZ999,CA,stolen-plate,SFPD,,
6MIS001,NV,missing-person,NCIC,2099-01-01T00:00:00Z,
4WAN404,,wanted,DOJ,,
7AB?12?,,partial-plate,CHP,,INC-78
"""


def write_signed(path, data: bytes, key=KEY):
    path.write_bytes(data)
    path.with_name(path.name + ".sig").write_bytes(base64.b64encode(key.sign(data)) + b"\n")
    return path


def test_csv_and_json_load_with_versions(tmp_path):
    hl = load_signed(write_signed(tmp_path / "a.csv", CSV), KEY.public_key(), now=NOW)
    assert hl.version == "2026-11-29.1" and len(hl.entries) == 5
    assert hl.categories == {"stolen-vehicle": 1, "stolen-plate": 1, "missing-person": 1,
                             "wanted": 1, "partial-plate": 1}
    doc = {"version": "v7", "entries": [
        {"plate": "ABC 123", "category": "wanted", "state": "TX", "source": "x"},
        {"plate": "ZZ*99", "category": "partial-plate"}]}
    hl = load_signed(write_signed(tmp_path / "b.json", json.dumps(doc).encode()),
                     KEY.public_key(), now=NOW)
    assert hl.version == "v7" and [e.plate for e in hl.entries] == ["ABC123", "ZZ*99"]
    # without a version line the content hash names the list
    assert parse("c.csv", b"plate,category\nABC123,wanted\n", now=NOW).version.startswith("sha256:")


def test_bad_or_missing_signature_is_refused(tmp_path):
    p = write_signed(tmp_path / "a.csv", CSV, key=Ed25519PrivateKey.generate())
    with pytest.raises(HotlistError, match="signature"):
        load_signed(p, KEY.public_key(), now=NOW)
    p.write_bytes(CSV + b"9EVIL99,,wanted,,,\n")  # altered after signing
    with pytest.raises(HotlistError, match="signature"):
        load_signed(p, KEY.public_key(), now=NOW)
    (tmp_path / "b.csv").write_bytes(CSV)
    with pytest.raises(HotlistError, match="missing"):
        load_signed(tmp_path / "b.csv", KEY.public_key(), now=NOW)


def test_every_bad_row_is_reported():
    data = b"""plate,category,state,expires
OK1234,wanted,CA,
,wanted,,
A!B,stolen-vehicle,,
A??,partial-plate,,
ABC123,parking,,
ABC124,wanted,California,
ABC125,wanted,,tomorrow
ABC126,wanted,,2030-01-01T00:00:00
ABC127,wanted
"""
    with pytest.raises(HotlistError) as ei:
        parse("x.csv", data, now=NOW)
    rows = {(e.row, e.field) for e in ei.value.errors}
    assert rows == {(3, "plate"), (4, "plate"), (5, "plate"), (6, "category"), (7, "state"),
                    (8, "expires"), (9, "expires"), (10, "")}


@pytest.mark.parametrize("column", ["owner_name", "Name", "dob", "date_of_birth", "address",
                                    "street", "phone", "email", "driver", "suspect"])
def test_personal_identifier_columns_are_refused(column):
    data = f"plate,category,{column}\nABC123,wanted,x\n".encode()
    with pytest.raises(HotlistError, match="personal identifier"):
        parse("x.csv", data, now=NOW)
    doc = {"entries": [{"plate": "ABC123", "category": "wanted", column: "x"}]}
    with pytest.raises(HotlistError, match="personal identifier"):
        parse("x.json", json.dumps(doc).encode(), now=NOW)


def test_unknown_columns_and_malformed_files_are_refused():
    for name, data in [("x.csv", b"plate,category,colour\nABC123,wanted,red\n"),
                       ("x.csv", b"category\nwanted\n"), ("x.csv", b""),
                       ("x.json", b"[1,2]"), ("x.json", b"{bad"), ("x.txt", b"plate\n"),
                       ("x.json", b'{"entries": [], "owner": "x"}'),
                       ("x.csv", b"\xff\xfe\x00bad")]:
        with pytest.raises(HotlistError):
            parse(name, data, now=NOW)


def test_expired_rows_are_skipped_not_loaded():
    data = b"plate,category,expires\nOLD111,wanted,2000-01-01\nNEW222,wanted,2099-01-01\n"
    hl = parse("x.csv", data, now=NOW)
    assert [e.plate for e in hl.entries] == ["NEW222"] and hl.expired_skipped == 1


def test_bad_new_version_leaves_previous_active(tmp_path):
    d = tmp_path / "hotlists"
    d.mkdir()
    mgr = HotlistManager(d, KEY.public_key(), clock=lambda: NOW)
    write_signed(d / "state.csv", CSV)
    assert mgr.reload() == {"state.csv": "ok 2026-11-29.1"}
    assert mgr.check(make_read("7ABC123"))
    # a new version with a bad row arrives in place: refused, the old list keeps matching
    write_signed(d / "state.csv", b"# version: 2\nplate,category\n9NEW999,wanted\nbad!,wanted\n")
    report = mgr.reload()
    assert report["state.csv"].startswith("refused") and "row 4: plate" in report["state.csv"]
    assert mgr.active()["state.csv"]["version"] == "2026-11-29.1"
    assert mgr.check(make_read("7ABC123")) and not mgr.check(make_read("9NEW999"))
    # install() validates before touching the directory
    bad = write_signed(tmp_path / "other.csv", b"plate,category,owner_name\nA1B2C3,wanted,X\n")
    with pytest.raises(HotlistError):
        mgr.install(bad)
    assert not (d / "other.csv").exists() and set(mgr.active()) == {"state.csv"}
    good = write_signed(tmp_path / "other.csv", b"# version: 9\nplate,category\nA1B2C3,wanted\n")
    assert mgr.install(good).version == "9"
    assert (d / "other.csv.sig").exists() and mgr.check(make_read("A1B2C3"))
    assert "other.csv@9" in mgr.version and "state.csv@2026-11-29.1" in mgr.version


def test_entries_expire_while_loaded(tmp_path):
    now = [time.time()]
    d = tmp_path / "h"
    d.mkdir()
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now[0] + 60))
    write_signed(d / "a.csv", f"plate,category,expires\nEXP123,wanted,{soon}\n".encode())
    mgr = HotlistManager(d, KEY.public_key(), clock=lambda: now[0])
    mgr.reload()
    assert mgr.check(make_read("EXP123"))
    now[0] += 120
    assert not mgr.check(make_read("EXP123"))


def test_reload_if_changed_picks_up_new_files(tmp_path):
    d = tmp_path / "h"
    d.mkdir()
    mgr = HotlistManager(d, KEY.public_key(), clock=lambda: NOW)
    assert mgr.reload_if_changed() == {}
    assert mgr.reload_if_changed() is None  # nothing changed: no work
    write_signed(d / "a.csv", b"# version: 1\nplate,category\nNEW123,wanted\n")
    assert mgr.reload_if_changed() == {"a.csv": "ok 1"}
    assert mgr.check(make_read("NEW123"))
    (d / "a.csv").unlink()
    (d / "a.csv.sig").unlink()
    assert mgr.reload_if_changed() == {} and not mgr.check(make_read("NEW123"))


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=256), flip=st.integers(min_value=0))
def test_signature_envelope_round_trip(data, flip):
    """What the agency writes (sign_envelope) is what the unit accepts, byte for byte."""
    envelope = sign_envelope(data, KEY)
    assert envelope.endswith(b"\n")
    assert verify_signature(data, envelope, KEY.public_key())
    assert not verify_signature(data + b"x", envelope, KEY.public_key())
    if data:
        bad = bytearray(data)
        bad[flip % len(bad)] ^= 0x01
        assert not verify_signature(bytes(bad), envelope, KEY.public_key())
    assert sig_path_for("/h/a.csv").as_posix() == "/h/a.csv.sig"
