"""`alpr train detector --recipe DIR`: the shipped detector's whole recipe as one command.

The shipped detector is five training stages with mining, a threshold and a confirmation chosen
on the training split between them (docs/detector.md, Training). This runs them in order, each
step in its own process (TensorFlow's thread settings are per process), every step's output and
log under DIR:

    s1  train from scratch                                  s1/
    s2  --resume s1                  -> threshold, export   s2/
    s3  --resume s2, mined by s2     -> threshold, export   mined_s2.json, s3/
    s4  --stage 4, mined by s3       -> threshold, export   mined_s3.json, s4/
    s5  --stage 5, mined by s4 with the extra plates -> threshold, export, confirmation   s5/
        plate verifier for s5's low scores (inference.training.verifier_train --record)
                                                                    s5/verifier/

The model to ship is DIR/s5 (copy its files into inference/models). A step whose output is
complete is skipped, so the same command resumes after an interruption (a stage cut short is
run again from its start). Step counts are the shipped run's scaled by `--hours`: the default
budget is 2 hours on the machine the constants below were measured on (the verifier's hour
included, so the stages get about a quarter of the shipped steps); `--hours 0` runs the shipped
counts (≈ 3 h 55 min with `--threads 2`, ≈ 5 h 20 min with one thread).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

EXTRA_PLATES = Path(__file__).resolve().parents[2] / "docs" / "eval" / "scene_extra_plates.json"
STAGE_STEPS = {"s1": 4500, "s2": 5000, "s3": 4000, "s4": 4000, "s5": 4000}  # as shipped (1.4.0)
# seconds per training step on this project's 2-core x86 machine, quiet (docs/detector.md, Time)
SECONDS_PER_STEP = {1: 0.67, 2: 0.43}
# mining, thresholds, exports and validations between the stages (20 min), and the plate
# verifier at the end (55 min measured with two threads, part of it beside a test run; session 9)
OVERHEAD_S = 20 * 60 + 60 * 60


@dataclass(frozen=True)
class Step:
    """One command of the recipe: `argv` (built when the step runs, from the outputs before
    it) after `python -m`, done when `done(dir)` is true; stdout goes to `log`."""

    name: str
    argv: Callable[[], list[str]]
    done: Callable[[], bool]
    log: Path


def step_scale(hours: float, threads: int) -> float:
    """The fraction of the shipped step counts that fits `hours` (0: all of them)."""
    if hours < 0:
        raise ValueError("--hours must not be negative")
    if hours == 0:
        return 1.0
    per_step = SECONDS_PER_STEP[min(max(threads, 1), 2)]
    budget = hours * 3600 - OVERHEAD_S
    if budget <= 0:
        raise ValueError(f"--hours {hours}: less than the recipe's fixed work "
                         f"({OVERHEAD_S // 60} min)")
    return min(1.0, budget / (sum(STAGE_STEPS.values()) * per_step))


def _trained(d: Path) -> bool:
    m = d / "detector.manifest.json"
    return (d / "detector_train.weights.h5").exists() and m.exists() and \
        "validation" in json.loads(m.read_text())


def _chosen_threshold(path: Path) -> float:
    return float(json.loads(path.read_text().strip().splitlines()[-1])["chosen"])


def _has_threshold(path: Path) -> bool:
    """The threshold tool finished: its last line is its JSON result (the log is opened, so
    exists, before the tool runs)."""
    try:
        _chosen_threshold(path)
    except (OSError, ValueError, IndexError, KeyError, TypeError):
        return False
    return True


def _mined(path: Path) -> bool:
    try:
        return "counts" in json.loads(path.read_text())
    except (OSError, ValueError):
        return False


def _threshold_recorded(d: Path) -> bool:
    m, t = d / "detector.manifest.json", d / "threshold.txt"
    return _has_threshold(t) and m.exists() and \
        json.loads(m.read_text()).get("default_threshold") == _chosen_threshold(t)


def _confirmed(d: Path) -> bool:
    m = d / "detector.manifest.json"
    return m.exists() and "confirmation" in json.loads(m.read_text())


def _verified(d: Path) -> bool:
    m = d / "detector.manifest.json"
    return m.exists() and "verifier" in json.loads(m.read_text())


def plan(out: Path, data: Path, threads: int = 1, scale: float = 1.0, smoke: bool = False,
         extra_plates: Path = EXTRA_PLATES, seed: int = 1234) -> list[Step]:
    """The recipe's steps in order."""
    train = ["appliance", "train", "detector", "--data", str(data), "--threads", str(threads),
             "--seed", str(seed)]
    if smoke:
        train.append("--smoke")
    tools = "inference.training."
    steps: list[Step] = []

    def add(name, argv, done, log):
        steps.append(Step(name, argv, done, out / log))

    previous = None
    for stage, base in STAGE_STEPS.items():
        d = out / stage
        n = 3 if smoke else max(1, round(base * scale))
        args = [*train, "--out", str(d), "--steps", str(n)]
        if previous is not None:
            args += ["--resume", str(previous / "detector_train.weights.h5")]
        if stage in ("s3", "s4", "s5"):
            mined = out / f"mined_{previous.name}.json"
            extra = ["--extra-plates", str(extra_plates)] if stage == "s5" else []
            add(f"mine with {previous.name}",
                lambda p=previous, m=mined, e=extra: [
                    tools + "detector_mining", "--data", str(data), "--model",
                    str(p / "detector_int8.tflite"), "--out", str(m), *e],
                lambda m=mined: _mined(m), f"mining_{previous.name}.log")
            args += ["--hard-negatives", str(mined), *extra]
            if stage != "s3":
                args += ["--stage", stage[1]]
        add(f"train {stage}", lambda a=args: a, lambda d=d: _trained(d), f"{stage}.log")
        if stage != "s1":  # a stage that is mined or shipped gets its threshold
            add(f"threshold {stage}",
                lambda d=d: [tools + "detector_threshold", "--data", str(data), "--model",
                             str(d / "detector_int8.tflite")],
                lambda d=d: _has_threshold(d / "threshold.txt"), f"{stage}/threshold.txt")
            add(f"export {stage}",
                lambda d=d, a=args: [*a, "--export-only", "--threshold",
                                     str(_chosen_threshold(d / "threshold.txt"))],
                lambda d=d: _threshold_recorded(d), f"{stage}_export.log")
        previous = d
    add("confirmation s5",
        lambda: [tools + "detector_confirm", "--data", str(data), "--model",
                 str(previous / "detector_int8.tflite"), "--record"],
        lambda: _confirmed(previous), "s5/confirm.txt")
    add("verifier s5",
        lambda: [tools + "verifier_train", "--data", str(data), "--model",
                 str(previous / "detector_int8.tflite"), "--work", str(previous / "verifier"),
                 "--threads", str(threads), "--seed", str(seed), "--record",
                 *(["--epochs", "1", "--smoke"] if smoke else [])],
        lambda: _verified(previous), "s5/verifier.log")
    return steps


def run_steps(steps: list[Step], execute: Callable[[list[str], Path], int] | None = None) -> None:
    """Run each step not yet done, in order; stop at the first that fails."""
    execute = execute or _execute
    for step in steps:
        if step.done():
            logger.info("recipe: %s done, skipped", step.name)
            continue
        logger.info("recipe: %s (log %s)", step.name, step.log)
        step.log.parent.mkdir(parents=True, exist_ok=True)
        code = execute(step.argv(), step.log)
        if code != 0 or not step.done():
            raise SystemExit(f"alpr train detector --recipe: step '{step.name}' failed "
                             f"(exit {code}); see {step.log}. Run the same command to resume.")


def _execute(argv: list[str], log: Path) -> int:
    with log.open("w") as f:
        return subprocess.run([sys.executable, "-m", *argv], stdout=f, stderr=subprocess.STDOUT,
                              cwd=Path(__file__).resolve().parents[2]).returncode


def run_recipe(out: Path, data: Path, threads: int, hours: float, smoke: bool,
               seed: int = 1234) -> Path:
    """Plan and run the recipe under `out`; the directory of the model to ship."""
    try:
        scale = step_scale(hours, threads)
    except ValueError as exc:
        raise SystemExit(f"alpr train detector --recipe: {exc}") from exc
    if not smoke and not (data / "scenes" / "labels.jsonl").exists():
        raise SystemExit(f"alpr train detector --recipe: {data}/scenes/labels.jsonl not found")
    steps = plan(out, data, threads, scale, smoke, seed=seed)
    total = sum(STAGE_STEPS.values())
    logger.info("recipe: %d steps into %s; training steps x%.2f of the shipped run (%d of %d)",
                len(steps), out, scale, round(total * scale), total)
    run_steps(steps)
    return out / "s5"
