"""Signed update bundles: signature, hashes, listing, unsafe archives."""

import io
import json
import tarfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioning import bundle, keys
from provisioning.exc import UpdateError


@pytest.fixture
def agency_key():
    return Ed25519PrivateKey.generate()


def make_src(tmp_path, content=b"print('v2')\n"):
    src = tmp_path / "src"
    (src / "appliance").mkdir(parents=True)
    (src / "appliance" / "main.py").write_bytes(content)
    (src / "README").write_text("release notes")
    return src


def rewrite(src_bundle, dst, change, add=()):
    """Copy a bundle member by member, letting ``change(name, data)`` alter or drop each."""
    with tarfile.open(src_bundle) as tin, tarfile.open(dst, "w:gz") as tout:
        members = [(m.name, tin.extractfile(m).read()) for m in tin.getmembers() if m.isfile()]
        for name, data in members + list(add):
            new = change(name, data)
            if new is None:
                continue
            m = tarfile.TarInfo(name)
            info = tarfile.TarInfo(m.name)
            info.size = len(new)
            tout.addfile(info, io.BytesIO(new))
    return dst


def test_build_and_verify(tmp_path, agency_key):
    out = tmp_path / "u.tar.gz"
    manifest = bundle.build_bundle(make_src(tmp_path), out, "software", "1.2.0", agency_key)
    assert set(manifest["files"]) == {"appliance/main.py", "README"}
    keys.install_trust_anchor(tmp_path / "d", "update", keys.public_pem(agency_key.public_key()))
    assert bundle.verify_bundle(out, tmp_path / "d")["release"] == "1.2.0"


@pytest.mark.parametrize("case, message", [
    ("payload", "does not match its signed sha256"),
    ("manifest", "does not verify"),
    ("extra", "not listed"),
    ("missing", "missing"),
    ("nomanifest", "no manifest"),
])
def test_tampered_bundles_are_rejected(tmp_path, agency_key, case, message):
    good = tmp_path / "good.tar.gz"
    bundle.build_bundle(make_src(tmp_path), good, "software", "1.2.0", agency_key)
    keys.install_trust_anchor(tmp_path / "d", "update", keys.public_pem(agency_key.public_key()))

    def change(name, data):
        if case == "payload" and name == "payload/appliance/main.py":
            return b"import os; os.system('evil')\n"[: len(data)].ljust(len(data))
        if case == "manifest" and name == "manifest.json":
            doc = json.loads(data)
            doc["release"] = "9.9.9"
            return json.dumps(doc).encode()
        if case == "missing" and name == "payload/README":
            return None
        if case == "nomanifest" and name == "manifest.json":
            return None
        return data

    add = [("payload/backdoor.py", b"x")] if case == "extra" else []
    bad = rewrite(good, tmp_path / "bad.tar.gz", change, add)
    with pytest.raises(UpdateError, match=message):
        bundle.verify_bundle(bad, tmp_path / "d")


def test_wrong_key_garbage_and_unsafe_paths(tmp_path, agency_key):
    out = tmp_path / "u.tar.gz"
    bundle.build_bundle(make_src(tmp_path), out, "model", "3", agency_key)
    other = Ed25519PrivateKey.generate()
    keys.install_trust_anchor(tmp_path / "d", "update", keys.public_pem(other.public_key()))
    with pytest.raises(UpdateError, match="not the trusted key"):
        bundle.verify_bundle(out, tmp_path / "d")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(UpdateError, match="not a readable update bundle"):
        bundle.verify_bundle(junk, tmp_path / "d")
    for name in ("../etc/passwd", "/abs", "a/../../b", ""):
        with pytest.raises(UpdateError, match="unsafe path"):
            bundle._safe_relpath(name)
    src = tmp_path / "src"
    (src / "link").symlink_to(src / "README")
    with pytest.raises(UpdateError, match="only regular files"):
        bundle.build_bundle(src, tmp_path / "x.tar.gz", "software", "1", agency_key)


def test_release_ordering():
    assert bundle.release_key("1.10") > bundle.release_key("1.9")
    assert bundle.release_key("2.0.0") == bundle.release_key("2")
    for bad in ("1.2-beta", "", "v1", "1..2"):
        with pytest.raises(UpdateError, match="dotted numbers"):
            bundle.release_key(bad)
