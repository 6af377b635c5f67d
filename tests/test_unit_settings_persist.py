"""Console live settings survive a restart (data_dir/live-settings.json); a bad file does not
stop the unit."""

from __future__ import annotations

import json
import logging

import pytest

from appliance.capture.overrides import FILE_NAME, OverridesError, load_overrides
from appliance.config import AlprConfig
from appliance.config.camera import CameraConfig
from appliance.config.capture import CaptureConfig
from appliance.config.gpio import GpioConfig
from appliance.sources.synthetic import SyntheticSource
from appliance.unit import Unit, UnitParts
from storage.types import AccessContext
from tests.capture_fakes import ListSink, TrackingRecognizer, wait_for
from tests.console_support import client, open_store, start_console

W, H = 320, 240
AUDIT = AccessContext("auditor-test", "Example PD", "auditor", "audit: settings")


def config() -> AlprConfig:
    return AlprConfig(
        camera=CameraConfig(source="synthetic", width=W, height=H, fps=20, exposure_us=1000),
        capture=CaptureConfig(motion_gate=False, queue_size=8),
        gpio=GpioConfig(illuminator_mode="off", ir_min_dwell_s=0))


def make_unit(data_dir, factory) -> Unit:
    parts = UnitParts(source=SyntheticSource(W, H, 20, pace=True),
                      recognizer=TrackingRecognizer(every=3), sink=ListSink(), pin_factory=factory)
    return Unit(config(), data_dir=data_dir, parts=parts)


async def put_settings(tmp_path, unit: Unit, changes: dict):
    """A technician changes settings through the console's API; (status, body, access log)."""
    store = open_store(tmp_path)
    console = await start_console(tmp_path, store, unit=unit)
    try:
        headers, _ = console.session(console.user("tec", "technician"))
        async with client() as http:
            async with http.put(console.url("/api/v1/settings"), headers=headers,
                                json=changes) as resp:
                status, body = resp.status, await resp.json()
        return status, body, store.access_log(AUDIT)
    finally:
        await console.server.close()
        console.accounts.close()
        store.close()


async def test_console_setting_is_back_after_a_restart(tmp_path, factory):
    data = tmp_path / "data"
    first = make_unit(data, factory)
    first.start()
    try:
        status, body, log = await put_settings(
            tmp_path, first, {"camera.exposure_us": 4000, "gpio.illuminator_mode": "on"})
    finally:
        first.stop()
    assert status == 200 and body["camera.exposure_us"] == 4000
    change = [e for e in log if e["action"] == "config-change"][-1]
    assert change["user"] == "tec"
    assert change["detail"]["changes"]["camera.exposure_us"] == {"from": 1000, "to": 4000}
    saved = json.loads((data / FILE_NAME).read_text())
    assert saved["settings"] == {"camera.exposure_us": 4000, "gpio.illuminator_mode": "on"}

    second = make_unit(data, factory)  # same config file values, same data dir
    assert second.config.camera.exposure_us == 4000 and second.warnings == []
    assert second.camera_control.get()["gpio.illuminator_mode"] == "on"
    second.start()
    try:
        wait_for(lambda: (f := second.loop.live.frame) and f.exposure_us == 4000)
        assert second.devices.illuminator.mode == "on"
        # Back to the config file's value: the override is dropped, not kept as a copy.
        second.camera_control.apply({"camera.exposure_us": 1000})
    finally:
        second.stop()
    assert json.loads((data / FILE_NAME).read_text())["settings"] == {
        "gpio.illuminator_mode": "on"}


@pytest.mark.parametrize("content, reason", [
    (b"{not json", "not JSON"),
    (b'{"format": "alpr-live-settings", "version": 1, "settings": {"camera.fps": 5}}',
     "unknown setting"),
    (b'{"format": "alpr-live-settings", "version": 1, "settings": {"camera.exposure_us": 3}}',
     "camera.exposure_us"),
    (b'{"format": "something-else", "version": 1, "settings": {}}', "not a alpr-live-settings"),
    (b'{"format": "alpr-live-settings", "version": 1, "settings": [1]}', "must be an object"),
])
def test_bad_settings_file_is_reported_and_the_unit_starts_on_the_config(
        tmp_path, factory, caplog, content, reason):
    (tmp_path / FILE_NAME).write_bytes(content)
    with caplog.at_level(logging.ERROR, logger="appliance.capture.overrides"):
        unit = make_unit(tmp_path, factory)
    assert reason in caplog.text and "running on the config file" in caplog.text
    unit.start()
    try:
        assert not unit.safe_mode
        assert unit.camera_control.get()["camera.exposure_us"] == 1000
        assert any(reason in w for w in unit.health()["warnings"])
        wait_for(lambda: unit.loop.live.frame)
        # The next console change replaces the bad file with a good one.
        unit.camera_control.apply({"camera.analogue_gain": 2.0})
    finally:
        unit.stop()
    cfg, settings = load_overrides(tmp_path / FILE_NAME, config())
    assert settings == {"camera.analogue_gain": 2.0} and cfg.camera.analogue_gain == 2.0


def test_unsaved_settings_change_nothing(tmp_path, factory):
    """The unit saves before applying: a failed save (here the path is a directory; on a unit,
    a full or read-only disk) leaves settings and file as they were."""
    unit = make_unit(tmp_path, factory)
    (tmp_path / FILE_NAME).mkdir()
    with pytest.raises(OSError):
        unit.camera_control.apply({"camera.exposure_us": 2500})
    assert unit.camera_control.get()["camera.exposure_us"] == 1000
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # no temp litter


async def test_console_reports_a_failed_save(tmp_path, factory):
    unit = make_unit(tmp_path / "data", factory)
    (tmp_path / "data" / FILE_NAME).mkdir(parents=True)
    status, body, log = await put_settings(tmp_path, unit, {"camera.exposure_us": 2500})
    assert status == 503 and "not saved" in body["error"] and "nothing was changed" in body["error"]
    assert unit.camera_control.get()["camera.exposure_us"] == 1000
    assert not [e for e in log if e["action"] == "config-change"]


def test_load_overrides_errors_name_the_file(tmp_path):
    path = tmp_path / FILE_NAME
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(OverridesError, match=FILE_NAME):
        load_overrides(path, config())
    assert load_overrides(tmp_path / "missing.json", config())[1] == {}
