"""`alpr eval` with reading: the JSON schema, and the unit's pipeline as the eval's recogniser."""

import json

import cv2
import numpy as np

from appliance.cli import main
from inference.eval_cli import JSON_KEYS, ROW_KEYS, pipeline, reader_files
from inference.ocr import shipped_models
from inference.rectify import box_of
from inference.training.ocr_effects import background
from inference.training.render import render_plate
from inference.types import Detection


def make_openalpr_folder(root, n=3):
    """Frames with one rendered plate each and OpenALPR-format .txt labels."""
    rng = np.random.default_rng(4)
    truths = []
    for i in range(n):
        frame = background(480, 640, rng, ir=False)
        p = render_plate(rng, region="US-CA", width=160, camera=False)
        x, y = 200, 250
        h, w = p.image.shape[:2]
        frame[y:y + h, x:x + w] = p.image
        bx, by, bw, bh = box_of(p.corners + [x, y])
        cv2.imwrite(str(root / f"car{i}.jpg"), frame)
        (root / f"car{i}.txt").write_text(
            f"car{i}.jpg\t{int(bx)}\t{int(by)}\t{int(bw)}\t{int(bh)}\t{p.text}\n")
        truths.append((frame, p.corners + [x, y], p.text))
    return truths


def test_eval_json_has_exactly_the_keys(tmp_path, capsys):
    data = tmp_path / "bench"
    data.mkdir()
    make_openalpr_folder(data)
    out = tmp_path / "eval.json"
    assert main(["eval", str(data), "--region", "us", "--json", str(out)]) == 0
    printed = capsys.readouterr().out  # the summary names the models it measured
    assert "detector_int8.tflite" in printed
    assert f"{' + '.join(shipped_models('us'))} (region us)" in printed
    doc = json.loads(out.read_text())
    assert list(doc) == list(JSON_KEYS)
    assert doc["images"] == 3 and doc["plates"] == 3
    assert 0 <= doc["detected"] <= 3
    assert doc["read_exact"] is not None and 0 <= doc["read_exact"] <= doc["read_top5"] <= 1
    assert doc["ms_median"] > 0 and doc["ms_p95"] >= doc["ms_median"]
    for row in doc["per_image"]:
        assert list(row) == list(ROW_KEYS)
        assert row["truth"][0].isalnum()
        assert len(row["read"]) == len(row["candidates"]) == 1


def test_pipeline_reads_the_detected_plates(tmp_path):
    truths = make_openalpr_folder(tmp_path, n=2)

    class Args:
        ocr = None
        threads = 1
        region = "us"

    class TrueCorners:  # the detector's contract, reporting the rendered plate
        corners = None

        def detect(self, image, threshold=None):
            return [Detection(box_of(self.corners), 0.9, self.corners.astype(np.float32))]

    detector = TrueCorners()
    recognize = pipeline(Args, detector, reader_files(Args))
    for frame, corners, text in truths:
        detector.corners = corners
        ((box, cands),) = recognize(frame)
        assert box == box_of(corners)
        assert cands[0] == text
        assert 1 <= len(cands) <= 5
