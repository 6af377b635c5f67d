"""Frames/s through the capture loop vs the bare source, measured in the same run.

The source is the synthetic scene (1280x720, unpaced), the recognizer the no-op one, the
motion gate off so every frame crosses the queue to a worker. ratio = fps_loop / fps_source:
1.0 means the loop costs nothing over reading the camera. Medians of interleaved repeats;
CPU time per frame (all threads) is printed too, as it is steadier than wall time on a busy box.
Last stdout line: {"fps_loop": .., "fps_source": .., "ratio": ..}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.capture import CaptureLoop  # noqa: E402
from appliance.capture.sinks import MemorySink  # noqa: E402
from appliance.config.capture import CaptureConfig  # noqa: E402
from appliance.sources.synthetic import SyntheticSource  # noqa: E402
from inference.recognizer import NullRecognizer  # noqa: E402


def source(seed: int) -> SyntheticSource:
    src = SyntheticSource(1280, 720, 15, seed=seed, pace=False)
    src.open()
    src.read()  # warm caches (backgrounds, first plate sprite)
    return src


def bare(frames: int, seed: int) -> tuple[float, float]:
    """(frames/s wall, CPU ms per frame) reading the source in a plain thread.

    A thread, like the loop's capture thread: OpenCV schedules its parallel work differently
    from the main thread (there, waking its pool costs more wall time on a busy machine).
    """
    src = source(seed)
    result = []

    def read_all() -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(frames):
            src.read()
        result.append((time.perf_counter() - t0, time.process_time() - c0))

    reader = threading.Thread(target=read_all)
    reader.start()
    reader.join()
    src.close()
    elapsed, cpu = result[0]
    return frames / elapsed, cpu / frames * 1000


def through_loop(frames: int, seed: int) -> tuple[float, float, dict]:
    """(frames/s wall, CPU ms per frame over all threads, health) through the whole loop."""
    src = source(seed)
    loop = CaptureLoop(src, NullRecognizer(), MemorySink(), CaptureConfig(motion_gate=False),
                       max_frames=frames)
    t0, c0 = time.perf_counter(), time.process_time()
    loop.start()
    loop.finished.wait()
    loop.stop()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    src.close()
    return frames / elapsed, cpu / frames * 1000, loop.health()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    fps_src, fps_loop, cpu_src, cpu_loop, drops = [], [], [], [], []
    for i in range(args.repeats):
        # Alternate the order so drift in machine load does not favour one side.
        if i % 2:
            rate, cpu, health = through_loop(args.frames, seed=i + 1)
            srate, scpu = bare(args.frames, seed=i + 1)
        else:
            srate, scpu = bare(args.frames, seed=i + 1)
            rate, cpu, health = through_loop(args.frames, seed=i + 1)
        fps_src.append(srate)
        cpu_src.append(scpu)
        fps_loop.append(rate)
        cpu_loop.append(cpu)
        drops.append(health["frames_dropped"])
        print(f"repeat {i + 1}: source {srate:7.1f} fps ({scpu:.2f} ms CPU/frame)   "
              f"loop {rate:7.1f} fps ({cpu:.2f} ms CPU/frame)   "
              f"dropped {health['frames_dropped']}/{args.frames}   "
              f"latency p50 {health['latency_ms']['p50']} ms")
    med = statistics.median
    src_med, loop_med = med(fps_src), med(fps_loop)
    print(f"median over {args.repeats} repeats of {args.frames} frames (1280x720 synthetic, "
          f"NullRecognizer): source {src_med:.1f} fps, loop {loop_med:.1f} fps; CPU per frame "
          f"source {med(cpu_src):.2f} ms, loop {med(cpu_loop):.2f} ms")
    print(json.dumps({"fps_loop": round(loop_med, 1), "fps_source": round(src_med, 1),
                      "ratio": round(loop_med / src_med, 3),
                      "cpu_ms_per_frame_source": round(med(cpu_src), 3),
                      "cpu_ms_per_frame_loop": round(med(cpu_loop), 3),
                      "cpu_ratio": round(med(cpu_src) / med(cpu_loop), 3),
                      "frames": args.frames, "repeats": args.repeats,
                      "dropped_median": med(drops)}))


if __name__ == "__main__":
    main()
