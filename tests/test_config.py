"""Config: strict schema, clear errors, the CLI commands."""

import tomllib

import pytest

from appliance.cli import main
from appliance.config import AlprConfig, ConfigError, load_config, parse_config, render_config


def test_embedded_default_is_valid_and_documented():
    config = AlprConfig()
    for section_name, field in AlprConfig.model_fields.items():
        assert field.description, section_name
        section = getattr(config, section_name)
        if hasattr(type(section), "model_fields"):
            for key, sub in type(section).model_fields.items():
                assert sub.description, f"{section_name}.{key} has no description"


def test_unknown_key_is_rejected_and_named():
    with pytest.raises(ConfigError) as err:
        parse_config({"camera": {"fsp": 10}})
    (key, value, msg), = err.value.problems
    assert key == "camera.fsp" and value == 10
    assert "fps" in msg  # names what is allowed


def test_bad_value_names_key_value_and_limit():
    with pytest.raises(ConfigError) as err:
        parse_config({"camera": {"source": "webcam", "fps": 0}})
    problems = {k: (v, m) for k, v, m in err.value.problems}
    assert problems["camera.fps"][0] == 0 and "greater than 0" in problems["camera.fps"][1]
    assert "picamera2" in problems["camera.source"][1]


def test_cross_field_check():
    with pytest.raises(ConfigError, match="ir_off_above"):
        parse_config({"gpio": {"ir_on_below": 90, "ir_off_above": 50}})


def test_secrets_cannot_be_configured():
    with pytest.raises(ConfigError, match="unknown key"):
        parse_config({"console": {"admin_password": "hunter2"}})


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[camera\nfps = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(binary)


def test_render_round_trips():
    config = parse_config({"camera": {"fps": 25.0}, "gpio": {"trigger_pin": 17}})
    text = render_config(config)
    assert parse_config(tomllib.loads(text)) == config


def test_cli_check_and_show(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text("[camera]\nfps = 10.0\n")
    assert main(["config", "check", str(good)]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[camera]\nfps = 'fast'\n")
    assert main(["config", "check", str(bad)]) == 1
    assert "camera.fps" in capsys.readouterr().err
    assert main(["config", "show", str(good)]) == 0
    assert "fps = 10.0" in capsys.readouterr().out
