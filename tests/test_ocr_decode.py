"""OCR decoding: per-slot argmax with pads, per-character confidence, beam alternatives."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.ocr import SYMBOLS, beam_search, decode, normalise_contrast


def probs_for(text, sure=0.9, slots=10):
    p = np.full((slots, len(SYMBOLS)), (1 - sure) / (len(SYMBOLS) - 1), np.float32)
    for i in range(slots):
        p[i, SYMBOLS.index(text[i]) if i < len(text) else -1] = sure
    return p


def test_decode_reads_text_and_confidences():
    p = probs_for("7ABC123")
    res = decode(p)
    assert res.text == "7ABC123"
    assert res.char_conf == pytest.approx((0.9,) * 7)
    assert res.confidence == pytest.approx(0.9**10, rel=1e-4)
    assert res.alternatives[0][0] == "7ABC123"


def test_beam_gives_the_runner_up_in_an_unsure_slot():
    p = probs_for("7ABC123")
    p[4] = 1e-4
    p[4, SYMBOLS.index("1")] = 0.55
    p[4, SYMBOLS.index("I")] = 0.45
    res = decode(p, top_n=5)
    texts = [t for t, _ in res.alternatives]
    assert texts[:2] == ["7ABC123", "7ABCI23"]
    assert res.alternatives[0][1] > res.alternatives[1][1]


def test_pad_in_last_slot_shortens_the_alternative():
    p = probs_for("ABC1234")
    p[6] = 1e-4
    p[6, SYMBOLS.index("4")] = 0.6
    p[6, -1] = 0.4
    texts = [t for t, _ in decode(p).alternatives]
    assert texts[:2] == ["ABC1234", "ABC123"]


def test_all_pads_read_empty():
    res = decode(probs_for(""))
    assert res.text == "" and res.char_conf == () and res.alternatives == ()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_beam_matches_brute_force_on_small_problems(seed):
    rng = np.random.default_rng(seed)
    slots, syms = 3, "AB_"
    p = rng.dirichlet(np.ones(3), size=slots)
    full = np.zeros((slots, len(SYMBOLS)), np.float64)
    for j, s in enumerate(syms):
        full[:, SYMBOLS.index(s)] = p[:, j]
    exact: dict[str, float] = {}
    for combo in itertools.product(range(3), repeat=slots):
        text = "".join(syms[c] for c in combo).replace("_", "")
        if text:
            exact[text] = exact.get(text, 0) + math.prod(p[i, c] for i, c in enumerate(combo))
    got = dict(beam_search(full, top_n=50, width=64))
    for text, prob in exact.items():
        assert got[text] == pytest.approx(prob, rel=1e-4, abs=1e-9)


def test_contrast_stretch():
    x = np.linspace(100, 140, 48 * 144).reshape(48, 144).astype(np.uint8)
    y = normalise_contrast(x)
    assert y.min() == 0 and y.max() == 255
    flat = np.full((48, 144), 90, np.uint8)
    assert np.array_equal(normalise_contrast(flat), flat)  # nothing to stretch
