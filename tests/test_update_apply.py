"""Applying signed updates: atomic switch, health check, automatic and manual rollback."""

import os
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.cli import main
from provisioning import agency, bundle, keys
from provisioning.exc import UpdateError
from provisioning.update import UpdateSlot, command_health_check


@pytest.fixture
def env(tmp_path):
    key = Ed25519PrivateKey.generate()
    slot = UpdateSlot(tmp_path / "data" / "updates" / "software", base_release="1.0")
    return key, slot


def make_bundle(tmp_path, key, release, kind="software", body=None):
    src = tmp_path / f"src-{release}"
    src.mkdir()
    (src / "version.txt").write_text(body or release)
    out = tmp_path / f"u-{release}.tar.gz"
    bundle.build_bundle(src, out, kind, release, key)
    return out


def current_text(slot):
    return (slot.current / "version.txt").read_text()


def test_healthy_update_is_kept_and_old_versions_pruned(tmp_path, env):
    key, slot = env
    assert slot.installed() == "1.0" and not slot.current.exists()
    r = slot.apply(make_bundle(tmp_path, key, "1.1"), key.public_key(), "software", lambda: True)
    assert (r.status, r.release, r.previous) == ("installed", "1.1", "1.0")
    assert slot.installed() == "1.1" and current_text(slot) == "1.1"
    assert os.readlink(slot.current) == os.path.join("versions", "1.1")  # relative, relocatable
    slot.apply(make_bundle(tmp_path, key, "1.2"), key.public_key(), "software", lambda: True)
    slot.apply(make_bundle(tmp_path, key, "1.3"), key.public_key(), "software", lambda: True)
    assert sorted(p.name for p in slot.versions.iterdir()) == ["1.2", "1.3"]  # current + previous
    assert [h["result"] for h in slot.state()["history"]] == ["installed"] * 3


def test_failed_health_check_rolls_back(tmp_path, env):
    key, slot = env
    slot.apply(make_bundle(tmp_path, key, "1.1"), key.public_key(), "software", lambda: True)
    seen = []

    def unhealthy():
        seen.append(current_text(slot))  # the new release is live while it is checked
        return False

    r = slot.apply(make_bundle(tmp_path, key, "1.2"), key.public_key(), "software", unhealthy)
    assert r.status == "rolled-back" and seen == ["1.2"]
    assert slot.installed() == "1.1" and current_text(slot) == "1.1"
    assert slot.state()["failed"] == ["1.2"] and slot.state()["pending"] is None

    def crashes():
        raise RuntimeError("service never came up")

    r = slot.apply(make_bundle(tmp_path, key, "1.3"), key.public_key(), "software", crashes)
    assert r.status == "rolled-back" and slot.installed() == "1.1"


def test_rollback_to_builtin_release(tmp_path, env):
    key, slot = env
    r = slot.apply(make_bundle(tmp_path, key, "2.0"), key.public_key(), "software", lambda: False)
    assert r.status == "rolled-back" and not slot.current.exists() and slot.installed() == "1.0"


def test_command_health_check_exit_code_and_timeout(tmp_path, env):
    key, slot = env
    ok = command_health_check([sys.executable, "-c", "import sys; sys.exit(0)"], 10)
    bad = command_health_check([sys.executable, "-c", "import sys; sys.exit(3)"], 10)
    slow = command_health_check([sys.executable, "-c", "import time; time.sleep(30)"], 0.5)
    missing = command_health_check([str(tmp_path / "no-such-command")], 5)
    assert ok() and not bad() and not slow() and not missing()
    r = slot.apply(make_bundle(tmp_path, key, "1.1"), key.public_key(), "software", slow)
    assert r.status == "rolled-back"


def test_downgrade_same_release_wrong_kind_and_tampering(tmp_path, env):
    key, slot = env
    slot.apply(make_bundle(tmp_path, key, "1.5"), key.public_key(), "software", lambda: True)
    with pytest.raises(UpdateError, match="older than installed"):
        slot.apply(make_bundle(tmp_path, key, "1.4"), key.public_key(), "software", lambda: True)
    assert slot.apply(make_bundle(tmp_path, key, "1.5.0", body="x"), key.public_key(), "software",
                      lambda: True).status == "already-installed"
    with pytest.raises(UpdateError, match="not software"):
        slot.apply(make_bundle(tmp_path, key, "1.6", kind="model"), key.public_key(), "software",
                   lambda: True)
    other = Ed25519PrivateKey.generate()
    with pytest.raises(UpdateError, match="not the trusted key"):
        slot.apply(make_bundle(tmp_path, other, "1.7"), key.public_key(), "software", lambda: True)
    assert slot.installed() == "1.5" and current_text(slot) == "1.5"
    assert [p.name for p in slot.versions.iterdir() if p.name.startswith(".")] == []


def test_interrupted_update_is_recovered(tmp_path, env):
    key, slot = env
    slot.apply(make_bundle(tmp_path, key, "1.1"), key.public_key(), "software", lambda: True)

    class PowerCut(BaseException):
        pass

    def cut():
        raise PowerCut  # the unit dies between the switch and the verdict

    with pytest.raises(PowerCut):
        slot.apply(make_bundle(tmp_path, key, "1.2"), key.public_key(), "software", cut)
    assert slot.state()["pending"]["release"] == "1.2" and slot.installed() == "1.2"
    with pytest.raises(UpdateError, match="pending"):
        slot.apply(make_bundle(tmp_path, key, "1.3"), key.public_key(), "software", lambda: True)
    after_boot = UpdateSlot(slot.root, base_release="1.0")
    assert after_boot.recover(lambda: False).status == "rolled-back"
    assert after_boot.installed() == "1.1" and after_boot.recover(lambda: True) is None


def test_manual_rollback(tmp_path, env):
    key, slot = env
    slot.apply(make_bundle(tmp_path, key, "1.1"), key.public_key(), "software", lambda: True)
    slot.apply(make_bundle(tmp_path, key, "1.2"), key.public_key(), "software", lambda: True)
    assert slot.rollback() == "1.1" and current_text(slot) == "1.1"
    assert slot.rollback() == "1.0" and not slot.current.exists()  # the image's built-in release
    with pytest.raises(UpdateError, match="nothing to roll back"):
        slot.rollback()


def test_cli_sign_verify_apply_rollback(tmp_path, capsys):
    agency.keygen(tmp_path / "agency")
    data = tmp_path / "data"
    keys.install_trust_anchor(data, "update", (tmp_path / "agency" / "update.pub").read_bytes())
    src = tmp_path / "models"
    src.mkdir()
    (src / "detector_int8.tflite").write_bytes(os.urandom(1000))
    out = tmp_path / "m.tar.gz"
    assert main(["agency", "sign-update", str(src), "--keys", str(tmp_path / "agency"),
                 "--kind", "model", "--release", "7", "--out", str(out)]) == 0
    assert main(["update", "verify", str(out), "--data-dir", str(data)]) == 0
    ok, bad = f"{sys.executable} -c pass", f"{sys.executable} -c 'raise SystemExit(1)'"
    assert main(["update", "apply", str(out), "--data-dir", str(data), "--kind", "model",
                 "--base-release", "0", "--health-cmd", bad]) == 2
    assert "rolled-back" in capsys.readouterr().out
    assert main(["update", "apply", str(out), "--data-dir", str(data), "--kind", "model",
                 "--base-release", "0", "--health-cmd", ok]) == 0
    model = data / "updates" / "model" / "current" / "detector_int8.tflite"
    assert model.read_bytes() == (src / "detector_int8.tflite").read_bytes()
    assert main(["update", "status", "--data-dir", str(data), "--kind", "model",
                 "--base-release", "0"]) == 0
    assert '"installed": "7"' in capsys.readouterr().out
    assert main(["update", "verify", str(tmp_path / "nope.tar"), "--data-dir", str(data)]) == 1
