"""US plates with small stacked letters beside the serial (class codes, county letters): the
shipped OCR must read the serial and not turn the small letters into extra characters.

Known gap (strict xfail, so it fails loudly once fixed): the shipped model (run 2) never saw
stacked letters and reads them as a character on 3 of these 16 plates. Run 3, trained with
them (`STACKED_SHARE`), reads 40 of 40 such plates but lost 2.8 points on the held-out US crops,
so it was not shipped (docs/ocr.md)."""

import numpy as np
import pytest

from inference.ocr import PlateReader
from inference.pipeline import PlateRecognizer
from inference.rectify import box_of
from inference.tracker import Tracker
from inference.training.render import render_plate
from inference.types import Detection

SEEDS = range(2000, 2016)


@pytest.fixture(scope="module")
def reads():
    reader = PlateReader("ocr_int8.tflite", num_threads=1)
    rec = PlateRecognizer(None, reader, Tracker(), region="us")
    out = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        p = render_plate(rng, region="us", width=int(rng.integers(150, 230)), stacked=1.0)
        (r,) = rec.read_detections(p.image, [Detection(box_of(p.corners), 0.9, p.corners)])
        out.append((p.text, r.text if r else ""))
    reader.close()
    return out


GAP = pytest.mark.xfail(strict=True, reason="shipped OCR (run 2) was not trained on stacked "
                        "letters; see the module docstring")


@GAP
def test_stacked_letters_are_not_read_as_characters(reads):
    spurious = [(t, r) for t, r in reads if len(r) > len(t)]
    assert len(spurious) <= 1, spurious


@GAP
def test_serial_beside_stacked_letters_is_read(reads):
    exact = sum(t == r for t, r in reads)
    assert exact >= len(reads) - 2, reads
