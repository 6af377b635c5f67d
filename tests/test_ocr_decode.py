"""OCR decoding (CTC): greedy path, per-character confidence, prefix-beam alternatives."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.ocr import BLANK, SYMBOLS, beam_search, decode, greedy, normalise_contrast


def columns_for(path, sure=0.9):
    """Column distributions whose argmax spells `path` ('_' = blank)."""
    p = np.full((len(path), len(SYMBOLS)), (1 - sure) / (len(SYMBOLS) - 1), np.float32)
    for t, ch in enumerate(path):
        p[t, SYMBOLS.index(ch)] = sure
    return p


def test_greedy_collapses_repeats_and_drops_blanks():
    p = columns_for("__77_AA_B__C_1_1__22_3___")
    text, conf, rows = greedy(p)
    assert text == "7ABC1123"
    assert conf == pytest.approx((0.9,) * 8)
    assert rows.shape == (8, len(SYMBOLS))


def test_decode_reads_text_and_alternatives():
    res = decode(columns_for("_7_A_B_C_1_2_3_"))
    assert res.text == "7ABC123"
    assert res.alternatives[0][0] == "7ABC123"
    assert 0 < res.confidence <= 1
    assert res.probs.shape == (7, len(SYMBOLS))


def test_beam_gives_the_runner_up_in_an_unsure_column():
    p = columns_for("_7_A_B_C_1_2_3_")
    p[9] = 1e-4
    p[9, SYMBOLS.index("1")] = 0.55
    p[9, SYMBOLS.index("I")] = 0.45
    texts = [t for t, _ in decode(p, top_n=5).alternatives]
    assert texts[:2] == ["7ABC123", "7ABCI23"]


def test_all_blank_reads_empty():
    res = decode(columns_for("_" * 36))
    assert res.text == "" and res.char_conf == () and res.alternatives == ()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_beam_matches_brute_force_ctc(seed):
    """Prefix beam search = exact CTC string probabilities on a problem small enough to list."""
    rng = np.random.default_rng(seed)
    steps, syms = 4, "AB_"
    p = rng.dirichlet(np.ones(3), size=steps)
    full = np.zeros((steps, len(SYMBOLS)), np.float64)
    for j, s in enumerate(syms):
        full[:, SYMBOLS.index(s)] = p[:, j]
    exact: dict[str, float] = {}
    for combo in itertools.product(range(3), repeat=steps):
        path = [syms[c] for c in combo]
        text = "".join(ch for k, ch in enumerate(path)
                       if ch != "_" and (k == 0 or path[k - 1] != ch))
        if text:
            exact[text] = exact.get(text, 0) + math.prod(p[i, c] for i, c in enumerate(combo))
    got = dict(beam_search(full, top_n=100, width=100, prune=0.0))
    assert set(got) == set(exact)
    for text, prob in exact.items():
        assert got[text] == pytest.approx(prob, rel=1e-6)


def test_blank_is_last_symbol():
    assert SYMBOLS[BLANK] == "_" and len(SYMBOLS) == 37


def test_contrast_stretch():
    x = np.linspace(100, 140, 48 * 144).reshape(48, 144).astype(np.uint8)
    y = normalise_contrast(x)
    assert y.min() == 0 and y.max() == 255
    flat = np.full((48, 144), 90, np.uint8)
    assert np.array_equal(normalise_contrast(flat), flat)  # nothing to stretch
