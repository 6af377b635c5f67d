"""Agency tools: hotlist signing in the uplink's detached-signature format."""

from appliance.cli import main
from provisioning import agency, keys
from provisioning.hotlist_format import load_signed, verify_signature


def test_sign_hotlist_validates_then_signs(tmp_path, capsys):
    agency.keygen(tmp_path / "agency")
    good = tmp_path / "list.json"
    good.write_bytes(b'{"version": "v7", "entries": [{"plate": "6MIS001", '
                     b'"category": "missing-person"}]}')
    assert main(["agency", "sign-hotlist", str(good), "--keys", str(tmp_path / "agency")]) == 0
    assert "version v7: 1 entries" in capsys.readouterr().out
    pub = keys.parse_public_pem((tmp_path / "agency" / "hotlist.pub").read_bytes())
    assert load_signed(good, pub, now=0).entries[0].plate == "6MIS001"
    other = keys.parse_public_pem((tmp_path / "agency" / "update.pub").read_bytes())
    assert not verify_signature(good.read_bytes(), (tmp_path / "list.json.sig").read_bytes(), other)

    bad = tmp_path / "bad.csv"
    bad.write_text("plate,category,owner_name\n7ABC123,stolen-vehicle,J Doe\n")
    assert main(["agency", "sign-hotlist", str(bad), "--keys", str(tmp_path / "agency")]) == 1
    assert "personal identifier" in capsys.readouterr().err
    assert not (tmp_path / "bad.csv.sig").exists()  # nothing signed


def test_cli_errors_are_one_line_and_status_1(tmp_path, capsys):
    for argv in (["provision", "status", "--config", str(tmp_path / "missing.toml")],
                 ["update", "status", "--config", str(tmp_path / "missing.toml")],
                 ["agency", "sign-hotlist", str(tmp_path / "none.csv"), "--keys", str(tmp_path)]):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "Traceback" not in err, argv
