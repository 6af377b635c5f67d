"""`alpr train detector --recipe`: the five-stage recipe as one resumable command
(inference.training.detector_recipe). The stages themselves are smoke-tested in
test_detector_train.py; here the plan, the budget and the resume logic."""

import json
from pathlib import Path

import pytest

from inference.training import detector_recipe as recipe


def _names(steps):
    return [s.name for s in steps]


def test_the_plan_is_the_shipped_recipe_in_order(tmp_path):
    steps = recipe.plan(tmp_path, tmp_path / "data", threads=2, scale=0.5, seed=7)
    assert _names(steps) == [
        "train s1", "train s2", "threshold s2", "export s2",
        "mine with s2", "train s3", "threshold s3", "export s3",
        "mine with s3", "train s4", "threshold s4", "export s4",
        "mine with s4", "train s5", "threshold s5", "export s5", "confirmation s5",
        "verifier s5"]
    argv = {s.name: s.argv() for s in steps if not s.name.startswith("export")}
    assert argv["train s1"][argv["train s1"].index("--steps") + 1] == "2250"  # 4500 x 0.5
    assert "--resume" not in argv["train s1"] and argv["train s1"].count("--threads") == 1
    assert all(a[a.index("--seed") + 1] == "7" for n, a in argv.items() if n.startswith("train"))
    s5 = argv["train s5"]
    assert s5[s5.index("--resume") + 1] == str(tmp_path / "s4" / "detector_train.weights.h5")
    assert s5[s5.index("--hard-negatives") + 1] == str(tmp_path / "mined_s4.json")
    assert s5[s5.index("--stage") + 1] == "5" and "--extra-plates" in s5
    assert "--extra-plates" in argv["mine with s4"] and "--extra-plates" not in argv["mine with s3"]
    assert "--stage" not in argv["train s3"]  # stage 3 is --hard-negatives' default
    assert argv["confirmation s5"][-1] == "--record"


def test_the_export_records_the_threshold_the_tool_chose(tmp_path):
    steps = {s.name: s for s in recipe.plan(tmp_path, tmp_path / "data")}
    (tmp_path / "s2").mkdir()
    (tmp_path / "s2" / "threshold.txt").write_text('threshold 0.40: ...\n{"chosen": 0.45}\n')
    argv = steps["export s2"].argv()
    assert argv[-3:] == ["--export-only", "--threshold", "0.45"]
    assert steps["threshold s2"].done()


@pytest.mark.parametrize(("hours", "threads", "scale"), [
    (0, 1, 1.0), (0, 2, 1.0),
    (2, 2, (2 * 3600 - recipe.OVERHEAD_S) / (21500 * 0.43)),
    (2, 1, (2 * 3600 - recipe.OVERHEAD_S) / (21500 * 0.67)),
    (9, 2, 1.0),  # never more than the shipped run
])
def test_step_scale_fits_the_budget(hours, threads, scale):
    assert recipe.step_scale(hours, threads) == pytest.approx(scale)


def test_a_budget_too_small_or_negative_is_refused(tmp_path):
    for hours in (-1, 0.2):
        with pytest.raises(ValueError, match="--hours"):
            recipe.step_scale(hours, 2)
    with pytest.raises(SystemExit, match="--hours"):
        recipe.run_recipe(tmp_path, tmp_path, 2, 0.2, smoke=True)
    with pytest.raises(SystemExit, match="labels.jsonl not found"):
        recipe.run_recipe(tmp_path / "out", tmp_path / "nodata", 2, 0, smoke=False)


class FakeTools:
    """Plays each tool by writing the outputs the recipe checks; fails the n-th call on
    request, the way a power cut or a crash would leave a half-written log."""

    def __init__(self, fail_at=None):
        self.calls, self.fail_at = [], fail_at

    def __call__(self, argv, log):
        self.calls.append(argv)
        log.write_text("started\n")
        if len(self.calls) == self.fail_at:
            return 1
        module = argv[0]
        if module == "appliance":
            d = Path(argv[argv.index("--out") + 1])
            d.mkdir(parents=True, exist_ok=True)
            (d / "detector_train.weights.h5").write_bytes(b"w")
            t = float(argv[argv.index("--threshold") + 1]) if "--threshold" in argv else 0.4
            (d / "detector.manifest.json").write_text(json.dumps(
                {"validation": {}, "default_threshold": t}))
        elif module.endswith("detector_threshold"):
            log.write_text('{"chosen": 0.45}\n')
        elif module.endswith("detector_mining"):
            Path(argv[argv.index("--out") + 1]).write_text(json.dumps({"counts": {}}))
        elif module.endswith(("detector_confirm", "verifier_train")):
            key = "confirmation" if module.endswith("detector_confirm") else "verifier"
            m = Path(argv[argv.index("--model") + 1]).parent / "detector.manifest.json"
            m.write_text(json.dumps({**json.loads(m.read_text()), key: {}}))
        return 0


def test_run_steps_runs_everything_once_and_a_rerun_does_nothing(tmp_path):
    tools = FakeTools()
    recipe.run_steps(recipe.plan(tmp_path, tmp_path / "data"), tools)
    assert len(tools.calls) == 18
    again = FakeTools()
    recipe.run_steps(recipe.plan(tmp_path, tmp_path / "data"), again)
    assert again.calls == []
    m = json.loads((tmp_path / "s5" / "detector.manifest.json").read_text())
    assert m["default_threshold"] == 0.45 and "confirmation" in m


def test_a_failed_step_stops_the_recipe_and_the_same_command_resumes_there(tmp_path):
    broken = FakeTools(fail_at=3)  # the first threshold run dies
    with pytest.raises(SystemExit, match="step 'threshold s2' failed .* resume"):
        recipe.run_steps(recipe.plan(tmp_path, tmp_path / "data"), broken)
    assert not (tmp_path / "s3").exists()
    resumed = FakeTools()
    recipe.run_steps(recipe.plan(tmp_path, tmp_path / "data"), resumed)
    assert resumed.calls[0][0].endswith("detector_threshold")  # s1 and s2 were not trained again
    assert len(resumed.calls) == 16


def test_a_step_that_exits_0_without_its_output_is_a_failure(tmp_path):
    def silent(argv, log):
        log.write_text("")
        return 0

    with pytest.raises(SystemExit, match="step 'train s1' failed"):
        recipe.run_steps(recipe.plan(tmp_path, tmp_path / "data"), silent)
