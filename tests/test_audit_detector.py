"""Audit of issue 3's detector: a model swap takes the new model's operating point (unless the
caller fixed one) and a refused swap leaves every setting of the current model as it was."""

import json
import shutil

import pytest

from inference.detector import Detector
from inference.runtime import MODELS_DIR, ModelError


def _copy_models(tmp_path, **changes):
    """The shipped detector files with a manifest edited by `changes` (hashes still match)."""
    for path in [*MODELS_DIR.glob("detector*"), *MODELS_DIR.glob("verifier*")]:
        shutil.copy(path, tmp_path / path.name)
    manifest = tmp_path / "detector.manifest.json"
    doc = json.loads(manifest.read_text())
    for key, value in changes.items():
        if isinstance(value, dict):
            doc[key] = {**doc.get(key, {}), **value}
        else:
            doc[key] = value
    manifest.write_text(json.dumps(doc))
    return tmp_path / "detector_int8.tflite"


def test_swap_takes_the_new_models_operating_point(tmp_path):
    det = Detector()
    shipped = det.threshold
    new = _copy_models(tmp_path, default_threshold=round(shipped + 0.1, 2))
    det.swap_model(new)
    assert det.threshold == pytest.approx(shipped + 0.1)
    det.close()


def test_swap_keeps_a_threshold_the_caller_fixed(tmp_path):
    det = Detector(threshold=0.7)
    det.swap_model(_copy_models(tmp_path, default_threshold=0.2))
    assert det.threshold == 0.7 and det.confirmation is None
    det.close()


def test_refused_swap_changes_no_setting(tmp_path):
    det = Detector()
    before = (det.threshold, det.coarse_min_width, det.confirmation, det.model, det.coarse)
    bad = _copy_models(tmp_path, default_threshold=0.1, coarse={"min_width": 10.0},
                       confirmation={"propose": 0.9, "confirm": 0.5, "min_chars": 4})
    with pytest.raises(ModelError, match="confirmation"):
        det.swap_model(bad)
    assert (det.threshold, det.coarse_min_width, det.confirmation, det.model,
            det.coarse) == before
    det.close()


@pytest.mark.parametrize("variant", ["int8", "float"])
@pytest.mark.parametrize("plates, seed", [([(300, 420, 60), (900, 300, 60)], 1),
                                          ([(640, 400, 640)], 2)])
def test_plates_from_60_px_to_half_the_frame_are_found(variant, plates, seed):
    """Issue 3's size range at its two ends, on a 1280x720 frame, both shipped variants."""
    import numpy as np

    from inference.eval_data import match
    from inference.training.synthetic import compose_frame

    image, quads = compose_frame(plates, seed=seed)
    assert image.shape[:2] == (720, 1280)
    truth = np.array([[q[:, 0].min(), q[:, 1].min(), np.ptp(q[:, 0]), np.ptp(q[:, 1])]
                      for q in quads])
    det = Detector(f"detector_{variant}.tflite")
    found = det.detect(image)
    det.close()
    assigned, false_positives = match(np.array([d.box for d in found]), truth, 0.3)
    assert (assigned >= 0).all() and false_positives == 0
