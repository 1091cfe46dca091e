"""A hedge that doubts its whole subject doubts the finding that subject names however far back
it lies in the clause (guide: "cannot be excluded" is a hedge): "A small sequestered fragment
inferior to the disc space cannot be excluded" is a hedged herniation. A finding of another
clause (past "and", a comma or a semicolon) is not its subject."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L5/S1: A small sequestered fragment inferior to the disc space cannot be excluded.",
        {"L5-S1": "unc"},
    ),
    ("L5-S1: A small protrusion behind the S1 body cannot be excluded.", {"L5-S1": "unc"}),
]

NEAR_MISSES = [
    (
        "L5-S1: Mild disc bulge a tiny left para central protrusion cannot be excluded",
        {"L5-S1": "d=bulge unc"},
    ),
    (
        "L4-5: Moderate canal stenosis is present and a small protrusion cannot be excluded.",
        {"L4-L5": "c=moderate unc"},
    ),
    (
        "L5-S1: Moderate canal stenosis; a small protrusion cannot be excluded.",
        {"L5-S1": "c=moderate unc"},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_doubted_subject_far_back(lab, text, want):
    assert found(lab.label(text)) == want
