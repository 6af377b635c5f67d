"""`alpr run`: load the config (or fall into safe mode), run the unit until SIGTERM or
--max-frames, then print one JSON summary as the last line of stdout."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.config import AlprConfig, ConfigError, load_config

if TYPE_CHECKING:  # the unit pulls in OpenCV and numpy: only when `alpr run` actually runs
    from appliance.unit import Unit, UnitParts

logger = logging.getLogger(__name__)

SOURCES = ("auto", "picamera2", "opencv", "folder", "synthetic")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="TOML config (default: the embedded default)")
    p.add_argument("--source", choices=SOURCES, help="override camera.source")
    p.add_argument("--device", help="override camera.device (V4L2 index/path, URL, file, folder)")
    p.add_argument("--max-frames", type=int, metavar="N",
                   help="stop after N captured frames (also ends a safe-mode run at once)")
    p.add_argument("--data-dir", metavar="DIR", help="override unit.data_dir")
    p.add_argument("--no-console", action="store_true", help="do not serve the local console")
    p.add_argument("--console-port", type=int, metavar="PORT",
                   help="override console.port (HTTPS)")


def effective_config(args: argparse.Namespace) -> tuple[AlprConfig, str | None]:
    """The config to run with and, when it is invalid, the safe-mode reason."""
    try:
        config = load_config(args.config)
        reason = None
    except ConfigError as exc:
        config, reason = AlprConfig(), str(exc)
    camera = {k: v for k, v in (("source", args.source), ("device", args.device)) if v is not None}
    if camera:
        config = config.model_copy(update={"camera": config.camera.model_copy(update=camera)})
    if args.data_dir:  # the uplink, console and zeroize read unit.data_dir
        config = config.model_copy(update={"unit": config.unit.model_copy(
            update={"data_dir": str(Path(args.data_dir).resolve())})})
    if args.no_console:
        config = config.model_copy(update={"console": config.console.model_copy(
            update={"enabled": False})})
    return config, reason


def prepare_data_dir(path: Path) -> str | None:
    """Create the data directory (0700); a reason string if it cannot be used."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        return f"data_dir {path}: cannot create ({exc.strerror}); set unit.data_dir or --data-dir"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"data_dir {path}: not writable; set unit.data_dir or --data-dir"
    return None


def summarize(unit: Unit, elapsed_s: float) -> dict:
    h = unit.loop.health() if unit.loop else {}
    camera = h.get("camera") or {}
    out = {
        "frames_in": h.get("frames_in", 0), "frames_dropped": h.get("frames_dropped", 0),
        "frames_gated": h.get("frames_gated", 0), "frames_processed": h.get("frames_processed", 0),
        "reads": h.get("reads", 0), "reads_undelivered": h.get("reads_undelivered", 0),
        "safe_mode": unit.safe_mode, "safe_reason": unit.safe_reason,
        "source": camera.get("source"), "camera_reconnects": camera.get("reconnects", 0),
        "recognizer": type(unit.recognizer).__name__ if unit.recognizer else None,
        "elapsed_s": round(elapsed_s, 3),
        "fps": round(h.get("frames_in", 0) / elapsed_s, 2) if elapsed_s > 0 else 0.0,
        "fps_processed": round(h.get("frames_processed", 0) / elapsed_s, 2)
        if elapsed_s > 0 else 0.0,
        "latency_ms": h.get("latency_ms"), "end_reason": h.get("end_reason"),
        "error": h.get("error"), "warnings": unit.warnings,
    }
    inner = getattr(unit.source, "source", unit.source)
    truth = inner.ground_truth() if hasattr(inner, "ground_truth") else None
    if hasattr(unit.sink, "count"):
        out["reads_stored"] = unit.sink.count
    plates = unit.sink.plates() if hasattr(unit.sink, "plates") else None
    if truth is not None:  # synthetic scene: compare reads with the plates that were shown
        texts = [t["text"] for t in truth]
        out["truth_plates"] = len(texts)
        if plates is not None:
            out["truth_read"] = len(set(texts) & set(plates))
            out["read_plates"] = plates[-50:]  # synthetic text only: no real plate is printed
    return out


def _set_from_handler(stop: threading.Event) -> None:
    """Set `stop` from a signal handler. The handler runs in the main thread, which may be
    inside `stop.wait()` holding the Event's internal lock: calling `stop.set()` there deadlocks
    (seen: one SIGTERM in about 12 hung the unit). A short thread takes the lock once the main
    thread lets go of it."""
    threading.Thread(target=stop.set, name="signal-stop", daemon=True).start()


def run_command(args: argparse.Namespace, parts: UnitParts | None = None) -> int:
    from appliance.services import compose
    from appliance.unit import Unit, UnitParts

    config, reason = effective_config(args)
    data_dir = Path(config.unit.data_dir)
    dir_problem = prepare_data_dir(data_dir)
    reason = reason or dir_problem
    stop = threading.Event()
    parts = parts or UnitParts()
    if dir_problem is None:  # in safe mode too: the console needs the store
        composed = compose(config, data_dir, parts, console_port=args.console_port,
                           request_stop=stop.set)
        reason = reason or composed
    previous = {sig: signal.signal(sig, lambda *_: _set_from_handler(stop))
                for sig in (signal.SIGTERM, signal.SIGINT)}
    unit = Unit(config, data_dir=data_dir, safe_reason=reason, parts=parts,
                max_frames=args.max_frames)
    start = time.monotonic()
    try:
        unit.start()
        if unit.safe_mode:
            print(f"alpr: SAFE MODE (capture off): {unit.safe_reason}", file=sys.stderr)
        unit.wait(stop)
        elapsed = time.monotonic() - start
    finally:
        unit.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    summary = summarize(unit, elapsed)
    print(json.dumps(summary), flush=True)
    return 1 if summary["error"] and not unit.safe_mode else 0
