"""Text pasted from a word processor or a PDF writes other characters for the plain hyphen and
letters (guide v1.2: level spellings; robustness: punctuation leaves the labels unchanged): a
level written with a Unicode hyphen, non-breaking hyphen, figure dash or minus sign, or with
full-width letters, is the same level. Offsets, and so the evidence spans, are kept."""

import pytest

from labeling.nlp.extract import lower_same_length
from tests.nlp.conftest import found

HYPHENS = ["\u2010", "\u2011", "\u2012", "\u2212", "\ufe63", "\uff0d"]


@pytest.mark.parametrize("hyphen", HYPHENS)
def test_a_level_with_a_pasted_hyphen_is_the_level(lab, hyphen):
    text = f"L4{hyphen}5: mild canal stenosis. L5{hyphen}S1: left foraminal narrowing."
    assert found(lab.label(text)) == {"L4-L5": "c=mild", "L5-S1": "lf=unspecified"}


def test_full_width_letters_read_as_ascii(lab):
    text = (
        "\uff2c4-5: \uff2d\uff29\uff2c\uff24 canal stenosis."  # "Ｌ4-5: ＭＩＬＤ canal stenosis."
    )
    assert found(lab.label(text)) == {"L4-L5": "c=mild"}


def test_the_evidence_points_into_the_pasted_text(lab):
    text = "L4\u20105: moderate canal stenosis."
    result = lab.label(text)
    spans = [text[e["start"] : e["end"]] for ev in result.evidence for e in ev]
    assert "moderate canal stenosis" in spans


def test_folding_keeps_every_offset():
    text = "L4\u2011L5 \uff2c\u00c9FT \u0130 x"
    assert len(lower_same_length(text)) == len(text)
    assert lower_same_length(text).startswith("l4-l5 l")


NEAR_MISSES = [
    # the en dash and the em dash the rules read as they are
    ("L4\u20135: mild canal stenosis.", {"L4-L5": "c=mild"}),
    ("L4\u2014L5: mild canal stenosis.", {"L4-L5": "c=mild"}),
    ("L4-5: mild canal stenosis.", {"L4-L5": "c=mild"}),
]


@pytest.mark.parametrize(("text", "want"), NEAR_MISSES)
def test_plain_and_long_dashes_read_as_before(lab, text, want):
    assert found(lab.label(text)) == want
