"""Field tests (hw_tests/) on the simulated rig: passes, and each failure path exits non-zero."""

import importlib.util
import json
import uuid

import pytest

from appliance.cli import main
from hw_tests.cli import execute, main_for, run_tests
from hw_tests.report import EXIT_FAIL, EXIT_PASS, EXIT_SKIPPED, Report
from hw_tests.rig import Options, SimFaults, SimRig
from inference.types import Candidate, Read
from tests.unit_e2e_main import NEEDS_MODELS, models_present

FAST = {"frames": 12, "warmup_frames": 1, "pipeline_frames": 240}


@pytest.fixture
def make_rig():
    rigs = []

    def make(faults=None, **kw):
        rig = SimRig(Options(**{**FAST, **kw.pop("options", {})}), faults=faults, **kw)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()  # resets its MockFactory: no pins leak into the next test


def checks(report: Report) -> dict:
    return {c.name: c for c in report.checks}


@pytest.mark.skipif(not models_present(), reason=NEEDS_MODELS)  # the pipeline check runs them
def test_all_simulated_exits_zero_and_writes_reports(tmp_path, capsys):
    assert main(["hwtest", "all", "--simulate", "--report-dir", str(tmp_path),
                 "--frames", "12", "--pipeline-frames", "150"]) == 0
    out = capsys.readouterr().out
    reports = {json.loads(p.read_text())["test"]: json.loads(p.read_text())
               for p in tmp_path.glob("*.json")}
    assert set(reports) == {"camera", "illuminator", "gpio", "pipeline"}
    for name in ("camera", "illuminator", "gpio"):
        assert reports[name]["status"] == "pass", reports[name]
        assert reports[name]["simulate"] is True and reports[name]["checks"]
        assert f"{name}: PASS (simulated)" in out
    pipeline = reports["pipeline"]
    if importlib.util.find_spec("inference.pipeline") is None:
        assert pipeline["status"] == "skipped"
        assert "no models" in pipeline["reason"]
    else:
        assert pipeline["status"] == "pass", pipeline
    assert reports["camera"]["measurements"]["fps"] == pytest.approx(30, rel=0.01)
    assert reports["illuminator"]["measurements"]["delta"] >= 15


def test_module_entry_point_with_report_file(tmp_path, capsys):
    path = tmp_path / "sub" / "gpio.json"
    assert main_for("gpio", ["--simulate", "--report", str(path)]) == 0
    report = json.loads(path.read_text())
    assert report["status"] == "pass"
    names = {c["name"] for c in report["checks"]}
    assert {"trigger_idle", "trigger", "tamper_shut", "tamper_open", "led_blinks"} <= names
    assert report["measurements"]["led"]["edges"] >= 4


def test_black_frames_fail_the_camera_test(make_rig, tmp_path, capsys):
    rig = make_rig(SimFaults(black=True))
    assert run_tests(["camera"], rig, rig.options, tmp_path) == EXIT_FAIL
    report = json.loads(next(tmp_path.glob("camera-*.json")).read_text())
    assert report["status"] == "fail"
    failed = {c["name"] for c in report["checks"] if c["ok"] is False}
    assert failed == {"brightness", "focus"}
    assert "frames are black" in report["reason"] and "not sharp" in report["reason"]
    assert "camera: FAIL" in capsys.readouterr().out


def test_defocused_lens_fails_only_focus(make_rig):
    report = execute("camera", make_rig(SimFaults(blur=True)), Options(**FAST))
    c = checks(report)
    assert c["focus"].ok is False and c["focus"].value < 50
    assert c["brightness"].ok and c["fps"].ok and c["exposure"].ok and c["resolution"].ok
    assert report.exit_code() == EXIT_FAIL


def test_slow_sensor_fails_fps(make_rig):
    report = execute("camera", make_rig(SimFaults(fps_scale=0.5)), Options(**FAST))
    c = checks(report)
    assert c["fps"].ok is False and c["fps"].value == pytest.approx(15, rel=0.01)
    assert c["dropped_frames"].ok and c["focus"].ok


def test_dropped_frames_fail(make_rig):
    report = execute("camera", make_rig(SimFaults(drop_every=4)), Options(**FAST))
    c = checks(report)
    assert c["dropped_frames"].ok is False and c["dropped_frames"].value >= 3
    assert c["timestamps"].ok


def test_dead_ir_leds_fail_the_illuminator_test(make_rig):
    report = execute("illuminator", make_rig(SimFaults(ir_gain=0.0)), Options(**FAST))
    c = checks(report)
    assert c["duty_on"].ok  # the pin is driven: the fault is in the light itself
    assert c["ir_delta"].ok is False and abs(c["ir_delta"].value) < 5
    assert "GPIO18" in report.reason


def test_hot_cpu_cuts_the_illuminator_and_says_why(make_rig):
    report = execute("illuminator", make_rig(SimFaults(cpu_temp_c=92.0)), Options(**FAST))
    c = checks(report)
    assert c["duty_on"].ok is False and "thermal cutoff" in c["duty_on"].detail
    assert c["ir_delta"].ok is False


def test_cut_trigger_wire_fails_the_gpio_test(make_rig):
    rig = make_rig(SimFaults(cut_wires=("trigger",)), options={"edge_timeout_s": 0.1})
    report = execute("gpio", rig, rig.options)
    c = checks(report)
    assert c["trigger"].ok is False and "GPIO23 -> GPIO17" in c["trigger"].detail
    assert c["trigger"].value == {"received": 0, "activations": 0}
    assert c["tamper_open"].ok and c["led_blinks"].ok
    assert report.exit_code() == EXIT_FAIL


def test_cut_tamper_wire_reads_as_open_enclosure(make_rig):
    report = execute("gpio", make_rig(SimFaults(cut_wires=("tamper",))), Options(**FAST))
    c = checks(report)
    assert c["tamper_shut"].ok is False and c["tamper_shut"].value == "open"


def test_cut_led_wire_fails_led_check(make_rig):
    report = execute("gpio", make_rig(SimFaults(cut_wires=("led",))), Options(**FAST))
    assert checks(report)["led_blinks"].ok is False


def test_unfitted_devices_are_skipped_not_failed(make_rig):
    from appliance.config.gpio import GpioConfig
    from appliance.config.model import AlprConfig

    rig = make_rig(config=AlprConfig(gpio=GpioConfig(trigger_pin=17)))
    report = execute("gpio", rig, rig.options)
    c = checks(report)
    assert c["trigger"].ok and c["tamper"].ok is None and c["led"].ok is None
    assert "not set" in c["tamper"].detail
    assert report.status == "pass"


class OracleRecognizer:
    """A fake recognizer that reads the simulated camera's ground truth (tests the test)."""

    def __init__(self, rig, mangle=lambda s: s):
        self.rig, self.mangle = rig, mangle
        self.open_tracks: dict[int, tuple[str, float]] = {}
        self.closed = False

    def _read(self, text, mono):
        plate = self.mangle(text)
        return Read(read_id=uuid.uuid4().hex, plate=plate, confidence=0.9,
                    candidates=(Candidate(plate, 0.9),), first_seen_wall=0.0,
                    last_seen_wall=0.0, first_seen_mono=mono, last_seen_mono=mono,
                    clock_synced=False, frames_used=1)

    def process(self, image, wall_time, mono_time, clock_synced):
        plates = self.rig.cameras[-1].last_frame.metadata["plates"]
        now = {p["vehicle"]: p["text"] for p in plates}
        gone = [v for v in self.open_tracks if v not in now]
        out = [self._read(*self.open_tracks.pop(v)) for v in gone]
        for v, text in now.items():
            self.open_tracks[v] = (text, mono_time)
        return out

    def flush(self):
        out = [self._read(*t) for t in self.open_tracks.values()]
        self.open_tracks.clear()
        return out

    def close(self):
        self.closed = True


def test_pipeline_reads_ground_truth(make_rig):
    recognizers = []

    def factory(rig):
        recognizers.append(OracleRecognizer(rig))
        return recognizers[0], None

    report = execute("pipeline", make_rig(recognizer_factory=factory), Options(**FAST))
    assert report.status == "pass", report.reason
    m = report.measurements
    assert m["expected"] >= 3 and m["matched"] == m["expected"] and m["missed"] == []
    assert checks(report)["read_rate"].value == 1.0
    assert recognizers[0].closed


def test_pipeline_misreads_fail_the_read_rate(make_rig):
    def factory(rig):
        return OracleRecognizer(rig, mangle=lambda s: s[::-1] + "X"), None

    report = execute("pipeline", make_rig(recognizer_factory=factory), Options(**FAST))
    c = checks(report)
    assert c["read_rate"].ok is False and c["read_rate"].value == 0.0
    assert len(report.measurements["false_reads"]) == report.measurements["expected"]
    assert report.exit_code() == EXIT_FAIL


def test_pipeline_without_models_is_skipped(make_rig):
    report = execute("pipeline", make_rig(recognizer_factory=lambda rig: (None, "no models: x")),
                     Options(**FAST))
    assert report.status == "skipped" and report.reason == "skipped: no models: x"
    assert report.exit_code() == EXIT_PASS  # simulated: reported, not failed
    report.simulate = False
    assert report.exit_code() == EXIT_SKIPPED  # on the unit: not a pass


def test_a_crashing_test_becomes_a_failed_report(make_rig):
    def factory(rig):
        raise RuntimeError("model file corrupt")

    report = execute("pipeline", make_rig(recognizer_factory=factory), Options(**FAST))
    assert report.status == "fail" and report.reason == "RuntimeError: model file corrupt"


no_real_gpio = pytest.mark.skipif(
    any(importlib.util.find_spec(m) for m in ("lgpio", "RPi", "pigpio", "picamera2")),
    reason="real hardware backends are installed here")


@no_real_gpio
def test_on_hardware_without_a_pi_it_fails_with_a_reason(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    assert main(["hwtest", "gpio", "--report-dir", str(tmp_path)]) == EXIT_FAIL
    report = json.loads(next(tmp_path.glob("gpio-*.json")).read_text())
    assert report["simulate"] is False and "no GPIO pin factory" in report["reason"]
    assert main(["hwtest", "camera", "--report", str(tmp_path / "c.json")]) == EXIT_FAIL
    assert "picamera2" in json.loads((tmp_path / "c.json").read_text())["reason"]


def test_bad_arguments(tmp_path, capsys):
    assert main(["hwtest", "all", "--simulate", "--report", str(tmp_path / "x.json")]) == 1
    assert "--report-dir" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[gpio]\nillumintor_pin = 3\n")
    assert main(["hwtest", "gpio", "--simulate", "--config", str(bad)]) == 1
    assert "gpio.illumintor_pin" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.json"))


def test_report_is_written_atomically_and_replaces(tmp_path):
    r = Report("camera", simulate=True)
    r.check("fps", True, 29.97, ">= 24")
    path = r.write(tmp_path / "r.json")
    r.check("focus", False, 3.0, ">= 50")
    r.write(path)
    data = json.loads(path.read_text())
    assert data["status"] == "fail" and data["reason"] == "focus: 3.0 (needs >= 50)"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
