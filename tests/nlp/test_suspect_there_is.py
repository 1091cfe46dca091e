"""The writer's doubt about the images is a hedge, also when "there is" follows it and in a clinic
letter: "I suspect there is also some left foraminal narrowing at L4/5" doubts the narrowing
(absent, the level uncertain: guide v1.2), where "there is" had ended the hedge's scope and the
sentence's "I" had made it a clinical sentence of the letter."""

import pytest

from tests.nlp.conftest import found

LETTER = "Dear Dr X,\n\nI saw this man with his MRI.\n\nThe MRI shows a disc bulge at L3/4. "

CASES = [
    ("L4-5: I suspect there is left foraminal narrowing.", {"L4-L5": "unc"}),
    ("L4-5: We suspect there are small bilateral protrusions.", {"L4-L5": "unc"}),
    (
        LETTER + "I suspect there is also some left foraminal narrowing at L4/5, although this is "
        "hard to be sure of on the parasagittal images.",
        {"L3-L4": "d=bulge", "L4-L5": "unc"},
    ),
]

NEAR_MISSES = [
    # "there is" still ends a negation's scope
    ("L4-5: No stenosis. There is a bulge.", {"L4-L5": "d=bulge"}),
    ("L4-5: No stenosis; there is a bulge.", {"L4-L5": "d=bulge"}),
    # a clinical sentence of the letter stays clinical
    (LETTER + "I think he has a left L5 radiculopathy at L4/5.", {"L3-L4": "d=bulge"}),
    (LETTER + "I have offered him an L4/5 decompression for his stenosis.", {"L3-L4": "d=bulge"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_the_writers_doubt_is_a_hedge(lab, text, want):
    assert found(lab.label(text)) == want
