"""Batch format, canonical form, signature and chain: every kind of bad batch is refused."""

import base64
import json

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.uplink import verify
from appliance.uplink.receiver.db import ReceiverDB
from appliance.uplink.sim import make_read, make_unit
from appliance.uplink.verify import GENESIS_HASH, VerifyError


def _unit_with_batches(n=3, device="unit-1", reads_per=3):
    outbox, source, signer = make_unit(device, max_records=reads_per, window=n)
    for _ in range(n * reads_per):
        outbox.add_read(make_read())
    batches = source.unacked(n)
    assert [s for s, _ in batches] == list(range(1, n + 1))
    return outbox, source, signer, batches


@pytest.fixture()
def rdb(tmp_path):
    db = ReceiverDB(tmp_path / "recv.db")
    yield db
    db.close()


def test_batches_are_canonical_signed_and_chained():
    _, _, signer, batches = _unit_with_batches()
    key = verify.load_public_key(signer.public_pem())
    prev = GENESIS_HASH
    for seq, body in batches:
        vb = verify.verify_envelope(body, key, "unit-1")
        assert vb.seq == seq and vb.prev_hash == prev
        assert rfc8785.dumps(json.loads(body)) == body
        assert vb.batch["reads"] and vb.batch["health"]["temp_c"] == 51.5
        prev = vb.hash


def test_receiver_stores_in_order_and_acks_idempotently(rdb):
    _, _, signer, batches = _unit_with_batches()
    rdb.enroll("unit-1", signer.public_pem())
    for _, body in batches:
        assert rdb.ingest(body).result == "stored"
    assert rdb.count("reads") == 9
    # a retried batch (lost ack) is acknowledged again and stored nothing twice
    for seq, body in batches:
        res = rdb.ingest(body)
        assert (res.result, res.seq) == ("duplicate", seq)
    assert rdb.count("reads") == 9 and rdb.count("batches") == 3
    assert rdb.unit_state("unit-1")[0] == 3


def _resign(body: bytes, key, mutate) -> bytes:
    env = json.loads(body)
    mutate(env["batch"])
    bc = verify.canonical(env["batch"])
    return verify.envelope_bytes(bc, key.sign(bc))


def test_rejections_are_precise(rdb):
    outbox, _, signer, batches = _unit_with_batches()
    rdb.enroll("unit-1", signer.public_pem())
    b1, b2, b3 = (b for _, b in batches)
    other = Ed25519PrivateKey.generate()

    def code(raw):
        with pytest.raises(VerifyError) as ei:
            rdb.ingest(raw)
        return ei.value.code

    # reordered: 2 before 1
    assert code(b2) == "sequence_gap"
    assert rdb.ingest(b1).result == "stored"
    # altered: change a plate without re-signing
    env = json.loads(b2)
    env["batch"]["reads"][0]["plate"] = "FAKE1"
    assert code(rfc8785.dumps(env)) == "bad_signature"
    # foreign: signed by a key that is not the unit's
    assert code(_resign(b2, other, lambda b: None)) == "bad_signature"
    # foreign: a device that is not enrolled
    assert code(_resign(b2, other, lambda b: b.update(device_id="stranger"))) == "unknown_unit"
    # forged replay: seq 1 again with other content, validly signed by the unit
    assert code(_resign(b1, signer, lambda b: b["reads"].pop())) == "sequence_conflict"
    # broken chain: seq 2 whose prev_hash is wrong
    assert code(_resign(b2, signer, lambda b: b.update(prev_hash="a" * 64))) == "chain_broken"
    # malformed ones
    assert code(b"not json") == "malformed"
    assert code(b'{"batch":{},"sig":"AAAA"}') == "malformed"
    assert code(b" " + b2) == "not_canonical"
    assert code(json.dumps(json.loads(b2), indent=1).encode()) == "not_canonical"
    assert code(_resign(b2, signer, lambda b: b.update(seq=-1))) == "malformed"
    assert code(_resign(b2, signer, lambda b: b.update(extra=1))) == "malformed"
    assert code(_resign(b2, signer, lambda b: b["alerts"].append(
        {"alert_id": "x", "confirmed": True}))) == "malformed"
    sig_short = json.loads(b2)
    sig_short["sig"] = base64.b64encode(b"x" * 10).decode()
    assert code(rfc8785.dumps(sig_short)) == "malformed"
    # nothing of the above was stored; the genuine successors still go in
    assert rdb.count("batches") == 1
    assert [rdb.ingest(b).result for b in (b2, b3)] == ["stored", "stored"]
    assert rdb.counters.rejected["bad_signature"] == 2


def test_revoked_unit_is_refused(rdb):
    _, _, signer, batches = _unit_with_batches(1)
    rdb.enroll("unit-1", signer.public_pem())
    assert rdb.revoke("unit-1")
    with pytest.raises(VerifyError, match="revoked_unit"):
        rdb.ingest(batches[0][1])


def test_enroll_refuses_junk_keys(rdb):
    with pytest.raises(ValueError):
        rdb.enroll("unit-1", b"not a key")


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=2000), st.integers(min_value=0, max_value=255))
def test_any_flipped_byte_is_refused(pos, value):
    outbox, source, signer = make_unit(max_records=2, window=1)
    outbox.add_read(make_read())
    (_, body), = source.unacked(1)
    pos %= len(body)
    if body[pos] == value:
        return
    bad = body[:pos] + bytes([value]) + body[pos + 1:]
    with pytest.raises(VerifyError):
        verify.verify_envelope(bad, verify.load_public_key(signer.public_pem()), "unit-1")


def test_verify_library_stands_alone(tmp_path):
    """An agency can copy verify.py on its own: it needs only cryptography and rfc8785."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "appliance/uplink/verify.py"
    shutil.copy(src, tmp_path / "alpr_verify.py")
    outbox, source, signer = make_unit(max_records=2, window=1)
    outbox.add_read(make_read())
    (_, body), = source.unacked(1)
    (tmp_path / "batch.json").write_bytes(body)
    (tmp_path / "unit.pub").write_bytes(signer.public_pem())
    code = (
        "import sys, alpr_verify as v\n"
        "vb = v.verify_envelope(open('batch.json','rb').read(),"
        " v.load_public_key(open('unit.pub','rb').read()), 'unit-1')\n"
        "assert v.check_chain(vb, 0, None) == 'new'\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in"
        " ('appliance', 'storage', 'aiohttp', 'inference', 'numpy')]\n"
        "assert not bad, bad\n"
        "print('ok', vb.seq)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env={"PATH": "/usr/bin:/bin"}, timeout=60)
    assert out.stdout.strip() == "ok 1", out.stderr
