"""`alpr run` with injected parts, as its own process (tests/test_unit_e2e.py).

The OCR model is not shipped yet, so the tests that need reads run the real daemon
(`appliance.run.run_command`: store, uplink, console, signals, shutdown) with a synthetic source
and a recognizer that reads the synthetic scene's ground truth, injected through UnitParts.

    python -m tests.unit_e2e_main {fast|paced} [alpr run options...]
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import uuid
from pathlib import Path

from appliance.run import add_arguments, run_command
from appliance.sources.synthetic import SyntheticScene, SyntheticSource
from appliance.unit import UnitParts
from inference.types import Candidate, Read

MODELS = Path(__file__).resolve().parents[1] / "inference" / "models"
SCENE = {"width": 640, "height": 360, "fps": 15.0, "seed": 7}


def models_present() -> bool:
    """The shipped detector and OCR models are in inference/models (the real pipeline can run)."""
    from appliance.config import AlprConfig
    from inference.ocr import shipped_models

    rec = AlprConfig().recognition
    ocr = rec.ocr_model or shipped_models(rec.region)
    ocr = [ocr] if isinstance(ocr, str) else ocr
    return all((MODELS / Path(m).name).exists() for m in (rec.detector_model, *ocr))


NEEDS_MODELS = "needs the shipped detector and OCR models (the OCR model has not landed yet)"


def first_plate() -> str:
    """The first plate the synthetic scene shows (deterministic per seed)."""
    scene = SyntheticScene(SCENE["width"], SCENE["height"], SCENE["fps"], seed=SCENE["seed"])
    t = 0
    while not scene.vehicles_at(t):
        t += 1
    return scene.vehicles_at(t)[0].text


class GroundTruthRecognizer:
    """Emits one Read per vehicle the source has fully shown, once the next one appears (and the
    rest at flush): what a perfect recognizer would return for the synthetic scene."""

    def __init__(self, source: SyntheticSource):
        self.source = source
        self.emitted: set[int] = set()
        self._lock = threading.Lock()

    def _truth(self) -> list[dict]:
        while True:
            try:
                return self.source.ground_truth()
            except RuntimeError:  # the capture thread added a vehicle while we copied
                continue

    def _reads(self, keep_last: bool) -> list[Read]:
        with self._lock:
            truth = self._truth()
            done = truth[:-1] if keep_last else truth
            out = []
            for i, t in enumerate(done):
                if i not in self.emitted:
                    self.emitted.add(i)
                    out.append(_read(t))
            return out

    def process(self, image, wall_time, mono_time, clock_synced):
        return self._reads(keep_last=True)

    def flush(self):
        return self._reads(keep_last=False)

    def close(self):
        pass


def _read(truth: dict) -> Read:
    text = truth["text"]
    return Read(read_id=uuid.uuid4().hex, plate=text, confidence=0.95,
                candidates=(Candidate(text, 0.95),), first_seen_wall=truth["first_wall"],
                last_seen_wall=truth["last_wall"], first_seen_mono=0.0, last_seen_mono=0.0,
                clock_synced=False, frames_used=truth["frames_visible"],
                crop_jpeg=b"\xff\xd8\xff\xe0" + text.encode()[::-1])


def main(argv: list[str]) -> int:
    pace, argv = argv[0] == "paced", argv[1:]
    parser = argparse.ArgumentParser(prog="unit_e2e_main")
    add_arguments(parser)
    args = parser.parse_args(argv)
    source = SyntheticSource(SCENE["width"], SCENE["height"], SCENE["fps"], seed=SCENE["seed"],
                             pace=pace)
    return run_command(args, UnitParts(source=source, recognizer=GroundTruthRecognizer(source)))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.exit(main(sys.argv[1:]))
