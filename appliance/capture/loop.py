"""The capture loop: camera thread → newest-wins queue → recognition worker(s) → read sink.

The camera thread never waits on recognition: when workers fall behind, the oldest queued
frame is dropped and counted. Shutdown finishes the frames already queued, flushes the
recognizer (closing open tracks) and hands every read to the sink before returning.
At the end, frames_in == frames_gated + frames_dropped + frames_processed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from appliance.capture.live import LiveView, detections_of
from appliance.capture.motion import MotionGate, lores_gray
from appliance.capture.queue import NewestWinsQueue
from appliance.capture.stats import RateMeter, StageTimings
from appliance.config.capture import CaptureConfig
from appliance.sources.base import Frame
from appliance.sources.exc import EndOfStream, SourceClosed, SourceError
from inference.recognizer import Recognizer
from inference.types import Read

logger = logging.getLogger(__name__)

ILLUMINATOR_PERIOD_S = 1.0  # how often scene brightness is fed to the IR illuminator


class ReadSink(Protocol):
    def handle(self, read: Read) -> None:
        """Take one read; durable (or handed on) when this returns; raise on failure."""


class CaptureLoop:
    def __init__(self, source: Any, recognizer: Recognizer, sink: ReadSink,
                 config: CaptureConfig, *,
                 lores_size: tuple[int, int] = (320, 180), illuminator: Any = None,
                 cpu_temp: Callable[[], float | None] = lambda: None,
                 clock_synced: Callable[[], bool] = lambda: False, max_frames: int | None = None,
                 illuminator_period_s: float = ILLUMINATOR_PERIOD_S,
                 light_input: str = "brightness"):
        self.source, self.recognizer, self.sink, self.config = source, recognizer, sink, config
        # The illuminator's auto mode is fed scene brightness (lores mean) or the camera's lux.
        self.illuminator_period_s, self.light_input = illuminator_period_s, light_input
        self.lores_size, self.illuminator, self.max_frames = lores_size, illuminator, max_frames
        self._cpu_temp, self._clock_synced = cpu_temp, clock_synced
        self.gate = MotionGate(enabled=config.motion_gate, threshold=config.motion_threshold,
                               forced_check_s=config.forced_check_s)
        self.queue: NewestWinsQueue[Frame] = NewestWinsQueue(config.queue_size)
        self.timings = StageTimings()
        self.live = LiveView()  # newest frame + overlay boxes for the console's aiming view
        self.in_rate, self.out_rate = RateMeter(), RateMeter()
        self.frames_in = self.frames_gated = self.frames_processed = self.source_gaps = 0
        self.reads = self.recognizer_errors = self.sink_errors = 0
        self.undelivered: list[Read] = []
        self.last_frame_mono: float | None = None
        self.end_reason: str | None = None
        self.error: str | None = None
        self._last_seq: int | None = None
        self._last_illum = float("-inf")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.finished = threading.Event()  # capture ended by itself (max_frames, end, error)
        self._started_at: float | None = None
        self._capture_thread = threading.Thread(target=self._capture_run, name="alpr-capture",
                                                daemon=True)
        self._workers = [threading.Thread(target=self._worker_run, name=f"alpr-recognize-{i}",
                                          daemon=True) for i in range(config.workers)]

    # -- control ---------------------------------------------------------------------------
    def start(self) -> None:
        self._started_at = time.monotonic()
        for t in self._workers:
            t.start()
        self._capture_thread.start()

    def start_burst(self, seconds: float) -> None:
        """Recognise every frame for `seconds` (vehicle trigger), bypassing the motion gate."""
        self.gate.start_burst(seconds, time.monotonic())
        logger.info("capture burst for %.1fs", seconds)

    def stop(self, timeout_s: float = 60.0, capture_join_s: float = 5.0) -> None:
        """Stop capture, finish queued frames, flush the recognizer, deliver every read.

        A camera hung inside read() is given capture_join_s; the queued work is finished anyway.
        """
        self._stop.set()
        stop_source = getattr(self.source, "stop", None)
        if isinstance(stop_source, threading.Event):
            stop_source.set()  # ends a reconnect backoff at once
        self._capture_thread.join(capture_join_s)
        if self._capture_thread.is_alive():
            logger.error("capture thread did not stop within %.0fs (camera hung)", capture_join_s)
        self.queue.close()
        for t in self._workers:
            t.join(timeout_s)
        try:
            reads = self.recognizer.flush()
        except Exception:
            logger.exception("recognizer flush failed")
            self.recognizer_errors += 1
            reads = []
        self._deliver(reads)
        if self.undelivered:
            logger.error("%d read(s) could not be handed to the sink", len(self.undelivered))

    # -- capture thread ----------------------------------------------------------------------
    def _capture_run(self) -> None:
        try:
            while not self._stop.is_set():
                t0 = time.monotonic()
                try:
                    frame = self.source.read()
                except EndOfStream as exc:
                    self.end_reason = f"end of stream: {exc}"
                    break
                except SourceClosed:
                    break
                except SourceError as exc:
                    self.error = self.end_reason = f"camera error: {exc}"
                    logger.error("capture stopped: %s", exc)
                    break
                self._on_frame(frame, t0)
                if self.max_frames and self.frames_in >= self.max_frames:
                    self.end_reason = f"max_frames ({self.max_frames}) reached"
                    break
        except Exception as exc:  # a bug must not leave the unit silently blind
            logger.exception("capture thread crashed")
            self.error = self.end_reason = f"capture crashed: {exc!r}"
        finally:
            self.queue.close()
            self.finished.set()

    def _on_frame(self, frame: Frame, t0: float) -> None:
        now = time.monotonic()
        self.timings.add("read", now - t0)
        self.frames_in += 1
        self.last_frame_mono = now
        self.in_rate.mark(now)
        if self._last_seq is not None and frame.seq > self._last_seq + 1:
            self.source_gaps += frame.seq - self._last_seq - 1
        self._last_seq = frame.seq
        self.live.offer_frame(frame)
        lores = lores_gray(frame, self.lores_size)
        self._illuminate(frame, lores, now)
        reason = self.gate.decide(lores, now)
        self.timings.add("gate", time.monotonic() - now)
        if reason is None:
            self.frames_gated += 1
            return
        frame.metadata["gate"] = reason
        frame.metadata["queued_mono"] = time.monotonic()
        self.queue.put(frame)

    def _illuminate(self, frame: Frame, lores, now: float) -> None:
        ill = self.illuminator
        if ill is None:
            return
        try:
            if now - self._last_illum >= self.illuminator_period_s:
                self._last_illum = now
                level = frame.lux if self.light_input == "lux" else float(lores.mean())
                if ill.update(level, now, self._cpu_temp()):
                    notify = getattr(self.source, "notify_ir_change", None)
                    if notify is not None:
                        notify()  # the next frame is exposed under the new lighting
            frame.ir_on = bool(ill.is_on)
        except Exception:
            logger.exception("illuminator update failed")

    # -- worker threads ----------------------------------------------------------------------
    def _worker_run(self) -> None:
        while True:
            frame = self.queue.get()
            if frame is None:
                return
            self._recognise(frame)

    def _recognise(self, frame: Frame) -> None:
        start = time.monotonic()
        self.timings.add("queue_wait", start - frame.metadata.get("queued_mono", start))
        try:
            reads = self.recognizer.process(frame.image, frame.wall_time, frame.mono_time,
                                            self._clock_synced())
        except Exception:
            logger.exception("recognizer failed on frame %d", frame.seq)
            with self._lock:
                self.recognizer_errors += 1
            reads = []
        done = time.monotonic()
        self.timings.add("recognize", done - start)
        self.timings.add("latency", done - frame.mono_time)
        with self._lock:
            self.frames_processed += 1
        self.out_rate.mark(done)
        boxes = detections_of(self.recognizer, reads)
        if boxes is not None:
            self.live.offer_detections(boxes, frame.mono_time)
        self._deliver(reads)

    def _deliver(self, reads: list[Read]) -> None:
        """Hand reads to the sink; a failing sink keeps them for the next attempt (nothing lost)."""
        with self._lock:
            pending, self.undelivered = self.undelivered + list(reads), []
            t0 = time.monotonic()
            # A sink with handle_many (the store) takes a burst as one batch: one commit.
            many = getattr(self.sink, "handle_many", None)
            batches = [pending] if many and len(pending) > 1 else [[r] for r in pending]
            handed = 0
            for batch in batches:
                try:
                    many(batch) if len(batch) > 1 else self.sink.handle(batch[0])
                except Exception as exc:
                    self.sink_errors += 1
                    self.undelivered = pending[handed:]
                    logger.error("read sink failed (%s); %d read(s) kept for retry", exc,
                                 len(self.undelivered))
                    break
                handed += len(batch)
                self.reads += len(batch)
            if pending:
                self.timings.add("sink", time.monotonic() - t0)

    # -- health ------------------------------------------------------------------------------
    def progressing(self, stall_s: float | None = None) -> bool:
        """Frames arrived within the stall window (what the systemd watchdog needs to hear)."""
        stall_s = self.config.watchdog_stall_s if stall_s is None else stall_s
        last = self.last_frame_mono if self.last_frame_mono is not None else self._started_at
        return last is not None and not self._stop.is_set() and time.monotonic() - last < stall_s

    def health(self) -> dict:
        now = time.monotonic()
        elapsed = now - self._started_at if self._started_at else 0.0
        camera = getattr(self.source, "state", None)
        stages = self.timings.summary()
        return {
            "running": self._capture_thread.is_alive(),
            "frames_in": self.frames_in, "frames_gated": self.frames_gated,
            "frames_dropped": self.queue.dropped, "frames_processed": self.frames_processed,
            "source_gaps": self.source_gaps, "reads": self.reads,
            "reads_undelivered": len(self.undelivered), "recognizer_errors": self.recognizer_errors,
            "sink_errors": self.sink_errors,
            "fps_in": round(self.in_rate.rate(now), 2),
            "fps_out": round(self.out_rate.rate(now), 2),
            "fps_in_avg": round(self.frames_in / elapsed, 2) if elapsed else 0.0,
            "queue_depth": len(self.queue), "queue_size": self.queue.maxsize,
            "latency_ms": stages.pop("latency_ms"), "stages": stages,
            "gate": dict(self.gate.counts), "burst_active": self.gate.burst_active(now),
            "last_frame_age_s": round(now - self.last_frame_mono, 3)
            if self.last_frame_mono is not None else None,
            "stalled": not self.progressing() and not self.finished.is_set(),
            "camera": camera() if callable(camera)
            else {"source": getattr(self.source, "name", "?")},
            "end_reason": self.end_reason, "error": self.error,
        }
