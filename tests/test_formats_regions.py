"""Region tables: Brazil (old grey LLL9999 and Mercosur LLL9L99), German shapes, more US states,
and that their confusion-aware substitutions apply only where a pattern asks."""

import pytest

from inference import formats
from inference.formats import matching_region, rank
from tests.test_formats import slot_probs


@pytest.mark.parametrize("text", ["NYI3834", "ABC1D23"])
def test_brazil_old_and_mercosur(text):
    assert matching_region(text, "br") == "BR"
    assert matching_region(text, "auto") is not None


def test_brazil_letter_read_as_digit_is_fixed_in_br():
    # NYI3834 read NY13834 (1 and I close): in Brazil the third character is a letter.
    p = slot_probs("NY13834", sure=0.9, alt={2: ("I", 0.35)})
    assert rank([("NY13834", 0.5)], "br", p)[0].text == "NYI3834"


def test_mercosur_digit_read_as_letter_is_fixed():
    # ABC1D23 read ABC1DZ3: only Mercosur fits once the Z (a digit slot) becomes 2.
    p = slot_probs("ABC1DZ3", sure=0.9, alt={5: ("2", 0.35)})
    best = rank([("ABC1DZ3", 0.5)], "br", p)[0]
    assert (best.text, best.region) == ("ABC1D23", "BR")


def test_mercosur_and_old_plate_read_stays_as_read():
    # ABC1023 fits the old grey format: a Mercosur D is not forced on a sure 0.
    assert rank([("ABC1023", 0.5)], "br", slot_probs("ABC1023"))[0].text == "ABC1023"


def test_brazil_patterns_stay_out_of_us_and_eu():
    assert matching_region("ABC1D23", "us") is None
    assert matching_region("ABC1D23", "eu") is None


@pytest.mark.parametrize("text", ["MAB123", "BAB1234", "HHX12", "KAB1", "MX1"])
def test_german_shapes(text):
    assert matching_region(text, "EU-DE") == "EU-DE"


def test_german_never_starts_with_a_digit_or_ends_with_letters():
    pats = formats.patterns_for("EU-DE")["EU-DE"]
    assert all(p[0] == "L" and p[-1] == "D" and len(p) <= 8 for p in pats)
    assert len(set(pats)) == len(pats)


@pytest.mark.parametrize(("text", "code"), [("AB1C2D", "US-MO"), ("12A3456", "US-AL"),
                                            ("ABCD12", "US-CO"), ("A123BC", "US-UT")])
def test_more_us_states(text, code):
    assert matching_region(text, code) == code
    assert matching_region(text, "us") is not None


def test_br_region_family_and_unknown_region():
    assert formats.patterns_for("br") == {"BR": ("LLLDDDD", "LLLDLDD")}
    assert "br" in formats.REGION_FAMILIES
    with pytest.raises(ValueError, match="unknown plate region"):
        formats.patterns_for("BRAZIL")
