"""Issue 3: "the shipped models load and run in both runtimes". tflite-runtime 2.14 (its last
release) cannot build an Interpreter beside numpy 2, so it cannot live in the project's venv;
point ALPR_TFLITE_PYTHON at a Python that has it (numpy < 2, tflite-runtime 2.14,
opencv-python-headless; docs/audit-3-4.md) and this test runs every shipped model there and
compares the float detector's boxes with LiteRT's here. Skipped when the variable is unset."""

import json
import os
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

from inference.detector import Detector
from inference.training.synthetic import compose_frame

REPO = Path(__file__).resolve().parents[1]
PYTHON = os.environ.get("ALPR_TFLITE_PYTHON")

SCRIPT = textwrap.dedent("""
    import json, sys
    import cv2, numpy as np
    sys.path.insert(0, sys.argv[1])
    from inference.detector import Detector
    from inference.runtime import MODELS_DIR, Model
    ran = []
    for p in sorted(MODELS_DIR.glob("*.tflite")):
        family = "detector" if p.name.startswith(("detector", "verifier")) else "ocr"
        m = Model(p, MODELS_DIR / f"{family}.manifest.json", runtime="tflite_runtime")
        outs = m.run(np.zeros(m.input_spec.shape, np.float32))
        ran.append([p.name, m.runtime, all(np.isfinite(o).all() for o in outs)])
    det = Detector("detector_float.tflite", runtime="tflite_runtime")
    boxes = [list(map(float, d.box)) for d in det.detect(cv2.imread(sys.argv[2]))]
    print(json.dumps({"ran": ran, "boxes": boxes}))
""")


@pytest.mark.skipif(not PYTHON, reason="set ALPR_TFLITE_PYTHON to a Python with tflite-runtime")
def test_shipped_models_run_in_tflite_runtime(tmp_path):
    import cv2

    image, _ = compose_frame([(330, 420, 70), (900, 330, 150)], seed=3)
    cv2.imwrite(str(tmp_path / "frame.png"), image)
    (tmp_path / "check.py").write_text(SCRIPT)
    res = subprocess.run([PYTHON, str(tmp_path / "check.py"), str(REPO),
                          str(tmp_path / "frame.png")], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout.strip().splitlines()[-1])
    shipped = sorted(p.name for p in (REPO / "inference" / "models").glob("*.tflite"))
    assert [name for name, _, _ in doc["ran"]] == shipped
    assert all(rt == "tflite_runtime" and finite for _, rt, finite in doc["ran"])
    litert = [d.box for d in Detector("detector_float.tflite").detect(image)]
    assert len(litert) == len(doc["boxes"]) == 2
    np.testing.assert_allclose(sorted(doc["boxes"]), sorted(litert), atol=0.5)
