"""Plate formats: normalisation, pattern matching, confusion-aware ranking."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inference import formats
from inference.formats import ALPHABET, coerce, matches, matching_region, normalise, rank


def slot_probs(text, sure=0.9, alt=None):
    """Per-character distributions reading `text`; alt = {index: (char, p)} adds a runner-up."""
    p = np.full((len(text), len(ALPHABET) + 1), 1e-4, np.float32)
    for i, ch in enumerate(text):
        p[i, ALPHABET.index(ch)] = sure
    for i, (ch, q) in (alt or {}).items():
        p[i, ALPHABET.index(ch)] = q
    return p / p.sum(axis=1, keepdims=True)


def test_normalise():
    assert normalise(" 7abc-123 ") == "7ABC123"
    assert normalise("ü·ß") == ""


def test_matches_and_region():
    assert matches("7ABC123", "DLLLDDD")
    assert not matches("7ABC12", "DLLLDDD")
    assert matching_region("7ABC123", "us") == "US-CA"
    assert matching_region("AB123CD", "eu") in ("EU-FR", "EU-IT")
    assert matching_region("NUYAWRK", "us") is None  # vanity: no pattern


def test_unknown_region_is_an_error():
    with pytest.raises(ValueError, match="unknown plate region"):
        formats.patterns_for("mars")


def test_coerce_only_inside_confusion_groups():
    assert coerce("7ABCI23", "DLLLDDD") == ("7ABC123", 2.0)
    assert coerce("7ABCX23", "DLLLDDD") is None  # X is confusable with no digit
    assert coerce("7AB", "DLLLDDD") is None


def test_ca_digit_read_as_letter_is_fixed_by_pattern():
    # The model read 7ABCO23 but slot 4 also gave '0' a fair chance.
    p = slot_probs("7ABCO23", alt={4: ("0", 0.3)})
    cands = rank([("7ABCO23", 0.5)], "us", p)
    assert cands[0].text == "7ABC023"
    assert cands[0].region == "US-CA"
    assert "7ABCO23" in [c.text for c in cands]  # the raw reading is kept for hotlists


def test_confident_vanity_plate_is_not_rewritten():
    # A clear reading that fits no pattern: substitutions must not win against it.
    p = slot_probs("NUYAWRK", sure=0.99)
    cands = rank([("NUYAWRK", 0.93)], "us", p)
    assert cands[0].text == "NUYAWRK"
    assert cands[0].region is None


def test_no_substitution_where_no_pattern_asks():
    cands = rank([("ZZZZZZZZZ", 0.9)], "us", slot_probs("ZZZZZZZZZ"))
    assert [c.text for c in cands] == ["ZZZZZZZZZ"]


def test_eu_ranking_uses_eu_patterns():
    p = slot_probs("AB123CO", alt={6: ("D", 0.3)})
    cands = rank([("AB123CO", 0.5)], "eu", p)
    assert cands[0].text == "AB123CO"  # O is a letter slot in FR/IT: already fits
    p = slot_probs("A8123CD", alt={1: ("B", 0.3)})
    assert rank([("A8123CD", 0.5)], "eu", p)[0].text == "AB123CD"


def test_spanish_and_dutch_serials_have_no_vowels():
    assert matching_region("1234BCD", "EU-ES") == "EU-ES"
    assert matching_region("1234BCA", "EU-ES") is None
    assert matching_region("1234QRS", "EU-ES") is None
    assert matching_region("GB123Z", "EU-NL") == "EU-NL"
    assert matching_region("GO123Z", "EU-NL") is None
    # a Bucharest plate read with 8 for B is no Spanish plate when its serial has a vowel
    p = slot_probs("8276WOW", alt={0: ("B", 0.3)})
    assert rank([("8276WOW", 0.6)], "eu", p)[0].text == "B276WOW"
    rng = np.random.default_rng(5)
    for code in ("EU-ES", "EU-NL"):
        for _ in range(50):
            assert not set(formats.random_text(rng, code)) & set("AEIOUQ")


def test_top_n_and_confidence_bounds():
    raw = [("7ABC123", 0.6), ("7ABC12", 0.2), ("1ABC123", 0.1), ("7A8C123", 0.05)]
    cands = rank(raw, "auto", None, top_n=3)
    assert len(cands) == 3
    assert all(0 <= c.confidence <= 1 for c in cands)


@given(st.text(alphabet=ALPHABET, min_size=1, max_size=10), st.sampled_from(["us", "eu", "auto"]))
def test_rank_keeps_raw_and_emits_clean_text(text, region):
    cands = rank([(text, 0.7)], region, None, top_n=50)
    texts = [c.text for c in cands]
    assert text in texts
    assert all(t == normalise(t) and len(t) == len(text) for t in texts)
    for c in cands:  # every substitution stays inside a confusion group
        for a, b in zip(text, c.text, strict=True):
            assert a == b or any(a in g and b in g for g in formats.CONFUSION_GROUPS)


@given(st.sampled_from(sorted(formats.patterns_for("auto"))), st.integers(0, 2**32 - 1))
def test_random_text_fits_its_region(code, seed):
    text = formats.random_text(np.random.default_rng(seed), code)
    assert any(matches(text, p) for p in formats.patterns_for(code)[code])


def test_pattern_does_not_change_the_length_the_model_read():
    # IR0NY (vanity) read at 0.4; a 6-character beam alternative fits US-FL's LLLDLL.
    cands = rank([("IR0NY", 0.4), ("IRQ0NY", 0.2)], "us", None)
    assert cands[0].text == "IR0NY"
    assert "IRQ0NY" in [c.text for c in cands]


def test_lookalike_pairs_yield_to_the_pattern_even_when_the_model_is_sure():
    # UK's O and 0 are drawn alike: a confident 0 in a letter slot becomes O (raw kept) ...
    cands = rank([("SA54SG0", 0.9)], "eu", slot_probs("SA54SG0", sure=0.99))
    assert cands[0].text == "SA54SGO" and cands[0].region.startswith("EU-")
    assert "SA54SG0" in [c.text for c in cands]
    assert rank([("B31IALY", 0.9)], "eu", slot_probs("B31IALY", sure=0.99))[0].text == "B311ALY"
    # ... but a confident character of an ordinary confusion group is not overturned
    assert rank([("SA54SG5", 0.9)], "eu", slot_probs("SA54SG5", sure=0.99))[0].text == "SA54SG5"


def test_lookalike_costs_are_european_only():
    # US fonts draw 0/O and 1/I apart: a sure reading of a US vanity or serial stays as read
    # (held-out US crops N0G0DS, 1A2E468, 20FY20, 976BB0 were rewritten before) ...
    for text in ("N0G0DS", "1A2E468", "20FY20", "976BB0"):
        assert rank([(text, 0.87)], "us", slot_probs(text, sure=0.99))[0].text == text
    # Brazil's font draws I and 1 alike: a sure 1 in a letter slot yields to the BR pattern.
    assert rank([("NY13834", 0.87)], "br", slot_probs("NY13834", sure=0.99))[0].text == "NYI3834"
    # ... and so does the same confident 0 in a European letter slot,
    assert rank([("SA54SG0", 0.9)], "auto", slot_probs("SA54SG0", sure=0.99))[0].text == "SA54SGO"
    # but not to the Netherlands' or Austria's many shapes (US 96381A is no Dutch 9638IA:
    # Dutch plates have no vowels; 07532F no Austrian O7532F).
    for text in ("96381A", "07532F"):
        assert rank([(text, 0.87)], "eu", slot_probs(text, sure=0.99))[0].text == text


def test_two_lookalikes_still_yield_to_the_pattern_but_three_do_not():
    # UK NG10FRP read NGIOFRP with sure I and O (a photo in the open-lpr training images):
    # two look-alike substitutions must not tie with the pattern (a tie keeps the raw read).
    assert rank([("NGIOFRP", 0.9)], "eu", slot_probs("NGIOFRP", sure=0.99))[0].text == "NG10FRP"
    # three are more than a pattern is worth: the raw reading stays first
    assert rank([("NGIOFR0", 0.9)], "eu", slot_probs("NGIOFR0", sure=0.99))[0].text == "NGIOFR0"


def test_romanian_provisional_plates_fit_and_keep_their_digits():
    # County + six digits from 0 (B089414 in the transcribed training frames): read right, the
    # look-alike costs must not turn the 0/1 into O/I to reach another country's pattern.
    assert matching_region("B089414", "eu") == "EU-RO"
    assert matching_region("SB014882", "eu") == "EU-RO"
    assert rank([("SB014882", 0.6)], "eu", slot_probs("SB014882", sure=0.95))[0].text == "SB014882"


def test_character_distributions_price_only_the_reading_they_belong_to():
    """Session-7 bug: a runner-up of the same length as the best reading was priced with the
    best reading's rows, so `EST201` (rows of `ET2014`: S against a sure 1...) cost a negative
    log-probability and its variants outranked everything at confidence 1.0."""
    p = slot_probs("ET2014", sure=0.99)
    raw = [("ET2014", 0.42), ("ET201", 0.064), ("EST2014", 0.048), ("EST201", 0.0073)]
    cands = rank(raw, "us", p, top_n=8)
    assert cands[0].text == "ET2014"
    assert all(c.confidence <= 0.42 for c in cands)
    assert rank(raw, "us", p, top_n=8, probs_of="ET2014") == cands
    # rows of another reading given explicitly: the first raw reading is priced without them
    other = rank([("ABCO123", 0.5), ("ABC0123", 0.3)], "us", slot_probs("ABC0123"),
                 probs_of="ABC0123")
    assert {c.text: c.confidence for c in other}["ABC0123"] == pytest.approx(0.3)
    assert all(c.confidence <= 0.5 for c in other)
