"""`alpr hwtest {camera,illuminator,gpio,pipeline,all}`: field tests on the unit or simulated.

Each test writes a JSON report and the command exits 0 (all passed), 1 (a test failed; the
reason is printed and in the report) or 2 (on hardware, a test was skipped, e.g. no models).
Each module also runs alone: `python -m hw_tests.camera --simulate`.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import logging
import sys
import time
from pathlib import Path

logger = logging.getLogger(__name__)

TESTS = ("camera", "illuminator", "gpio", "pipeline")
DEFAULT_REPORT_DIR = "hwtest-reports"
_HELP = {
    "frames": "camera: frames measured after warm-up",
    "min_fps_ratio": "camera: pass when fps >= this x camera.fps",
    "min_focus": "camera: minimum focus score (variance of the Laplacian)",
    "min_ir_delta": "illuminator: minimum mean-luma gain with IR on (0-255)",
    "jig_trigger_pin": "gpio: jig output wired to gpio.trigger_pin (BCM)",
    "jig_tamper_pin": "gpio: jig output wired to gpio.tamper_pin (BCM)",
    "jig_led_pin": "gpio: jig input wired to gpio.led_pin (BCM)",
    "plate": "pipeline: text of the printed test plate in view",
    "pipeline_frames": "pipeline: frames fed to the recognizer",
    "min_read_rate": "pipeline: minimum fraction of plates read correctly",
    "max_latency_ms": "pipeline: maximum p95 recognizer time per frame",
}


def _add_arguments(p: argparse.ArgumentParser) -> None:
    from hw_tests.rig import Options

    p.add_argument("--simulate", action="store_true",
                   help="run on fakes (synthetic camera, MockFactory pins and jig)")
    p.add_argument("--config", metavar="FILE", help="unit config (default: embedded default)")
    p.add_argument("--report-dir", metavar="DIR", default=DEFAULT_REPORT_DIR,
                   help=f"where JSON reports go (default: ./{DEFAULT_REPORT_DIR})")
    p.add_argument("--report", metavar="FILE", help="report file (a single test only)")
    for f in dataclasses.fields(Options):
        if f.name not in _HELP:
            continue
        kind = type(f.default) if f.default is not None else (str if f.name == "plate" else int)
        p.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=f.default,
                       help=f"{_HELP[f.name]} (default: {f.default})")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `alpr hwtest`."""
    p = sub.add_parser("hwtest", help="field tests: camera, illuminator, GPIO, pipeline",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("test", choices=(*TESTS, "all"), help="which test ('all' runs every one)")
    _add_arguments(p)
    p.set_defaults(func=_command)


def _options(args: argparse.Namespace):
    from hw_tests.rig import Options

    return Options(**{name: getattr(args, name) for name in _HELP})


def _rig(args: argparse.Namespace, options):
    from hw_tests.rig import HardwareRig, SimRig

    if args.simulate:
        config = None
        if args.config:
            from appliance.config import load_config

            config = load_config(args.config)
        return SimRig(options, config=config)
    from appliance.config import load_config

    return HardwareRig(load_config(args.config), options)


def execute(name: str, rig, options):
    """Run one test; an exception becomes a failed report with the reason, never a traceback."""
    from hw_tests.report import Report

    module = importlib.import_module(f"hw_tests.{name}")
    t0 = time.monotonic()
    try:
        report = module.run(rig, options)
    except Exception as exc:
        logger.debug("%s test raised", name, exc_info=True)
        report = Report(name, rig.simulate)
        report.error = f"{type(exc).__name__}: {exc}"
    report.duration_s = time.monotonic() - t0
    return report


def run_tests(names: list[str], rig, options, report_dir: str | Path,
              report_file: str | None = None) -> int:
    """Run, write and print each report; the worst exit code wins (1 over 2 over 0)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    codes = []
    for name in names:
        report = execute(name, rig, options)
        path = report.write(report_file or Path(report_dir) / f"{name}-{stamp}.json")
        print(f"{report.summary()}  [{path}]")
        codes.append(report.exit_code())
    return 1 if 1 in codes else max(codes, default=0)


def _command(args: argparse.Namespace) -> int:
    from appliance.config import ConfigError

    names = list(TESTS) if args.test == "all" else [args.test]
    if args.report and len(names) > 1:
        print("--report names one file: use --report-dir with 'all'", file=sys.stderr)
        return 1
    options = _options(args)
    try:
        rig = _rig(args, options)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        return run_tests(names, rig, options, args.report_dir, args.report)
    finally:
        rig.close()


def main_for(name: str, argv: list[str] | None = None) -> int:
    """`python -m hw_tests.<name>`: the same as `alpr hwtest <name>`."""
    p = argparse.ArgumentParser(prog=f"python -m hw_tests.{name}")
    _add_arguments(p)
    args = p.parse_args(argv)
    args.test = name
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return _command(args)
