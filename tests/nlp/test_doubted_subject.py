"""A sentence that ends "cannot be excluded" doubts its whole subject (guide: "cannot be
excluded" is a hedge; hedged findings are absent and uncertain): in "a tiny left foraminal
protrusion touching the exiting left L5 root cannot be excluded" the protrusion is doubted with
its root contact, though farther back than the hedge's reach. A definite finding beside it
stays, and so does a disc that is not the subject of the doubted contact."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "At L5-S1 a tiny left foraminal protrusion touching the exiting left L5 root cannot be"
        " excluded on these motion-degraded images.",
        {"L5-S1": "unc"},
    ),
    ("L5-S1: Small protrusion contacting the left S1 root cannot be excluded.", {"L5-S1": "unc"}),
    (
        "L5-S1: Mild disc bulge. A tiny protrusion contacting the S1 root is possible.",
        {"L5-S1": "d=bulge unc"},
    ),
]

NEAR_MISSES = [
    ("L5-S1: A small protrusion cannot be excluded.", {"L5-S1": "unc"}),
    (
        "L5-S1: Broad bulge; contact with the left S1 root cannot be excluded.",
        {"L5-S1": "d=bulge unc"},
    ),
    (
        "L5-S1: A small left paracentral protrusion contacting the left S1 root.",
        {"L5-S1": "d=herniation ls=unspecified"},
    ),
    (
        "L4-5: Moderate canal stenosis is present and a small protrusion cannot be excluded.",
        {"L4-L5": "c=moderate unc"},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_doubted_contact_doubts_its_disc(lab, text, want):
    assert found(lab.label(text)) == want
