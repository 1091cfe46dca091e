"""A hedge word at the end of a statement, after a comma or not, doubts what it follows (guide:
"questionable", "equivocal", "suspected", "cannot be excluded" are hedges; the hedged finding
is absent and the level uncertain): "Mild canal stenosis, questionable." A definite finding
before a list comma stays present."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L4-5: Mild canal stenosis, questionable.", {"L4-L5": "unc"}),
    ("L4-5: Canal stenosis, equivocal.", {"L4-L5": "unc"}),
    ("L4-5: Protrusion, questionable.", {"L4-L5": "unc"}),
    ("L4-5: Small protrusion, not excluded.", {"L4-L5": "unc"}),
    ("L4-5: Moderate canal stenosis, possible.", {"L4-L5": "unc"}),
    (
        "L4-5: Mild canal stenosis, suspected; left foraminal narrowing.",
        {"L4-L5": "lf=unspecified unc"},
    ),
    # the list comma before the doubted finding ends the hedge's reach: the bulge stays
    ("L4-5: Disc bulge, moderate canal stenosis, questionable.", {"L4-L5": "d=bulge unc"}),
    # ... with no comma before it
    ("L4-5: Canal stenosis questionable.", {"L4-L5": "unc"}),
    ("L4-5: Mild canal stenosis possible.", {"L4-L5": "unc"}),
    ("L4-5: Small protrusion suspected.", {"L4-L5": "unc"}),
    (
        "L4-5: Moderate canal stenosis. Left foraminal narrowing questionable.",
        {"L4-L5": "c=moderate unc"},
    ),
]

NEAR_MISSES = [
    # the hedge word opens the next statement: it doubts what follows
    ("L4-5: Mild canal stenosis, possible left foraminal stenosis.", {"L4-L5": "c=mild unc"}),
    ("L4-5: Protrusion, questionable contact of the L5 root.", {"L4-L5": "d=herniation unc"}),
    ("L4-5: Mild canal stenosis, unchanged.", {"L4-L5": "c=mild"}),
    ("L4-5: Questionable protrusion.", {"L4-L5": "unc"}),
    ("L4-5: Bulge. Herniation is possible.", {"L4-L5": "d=bulge unc"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_trailing_hedge_doubts_the_statement(lab, text, want):
    assert found(lab.label(text)) == want
