"""A finding offered as one of "either ... or ..." is hedged (guide: a finding offered with an
alternative is absent and uncertain), whatever the other alternative is: "either a small
foraminal protrusion or a prominent foraminal vein". Alternatives that are one schema finding
stay certain, and "either side" offers nothing."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L5-S1: Focal signal in the left foramen, representing either a small foraminal protrusion"
        " or a prominent foraminal vein.",
        {"L5-S1": "unc"},
    ),
    ("L5-S1: Either a small protrusion or a prominent vein.", {"L5-S1": "unc"}),
    ("L5-S1: This represents either a small protrusion or a prominent vein.", {"L5-S1": "unc"}),
]

NEAR_MISSES = [
    ("L5-S1: Either a bulge or a small protrusion.", {"L5-S1": "unc"}),
    ("L5-S1: Either a protrusion or an extrusion.", {"L5-S1": "d=herniation"}),
    ("L5-S1: Bulge or small protrusion.", {"L5-S1": "unc"}),
    ("L5-S1: No stenosis on either side.", {}),
    ("L5-S1: Mild foraminal narrowing on either side.", {"L5-S1": "lf=mild rf=mild"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_either_or_offers_an_alternative(lab, text, want):
    assert found(lab.label(text)) == want
