"""The words "if any" and "if present" doubt the finding itself (guide v1.2: a hedged finding is absent
and the level uncertain): "Mild canal stenosis, if any" is no stated stenosis. The commas around
the phrase are its own: they do not end its scope as a list comma ends a hedge's."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L4-5: Mild canal stenosis, if any.", {"L4-L5": "unc"}),
    ("L4-5: Canal stenosis, if any, is mild.", {"L4-L5": "unc"}),
    ("L4-5: Canal stenosis, if present, is mild.", {"L4-L5": "unc"}),
    ("L4-5: Minimal, if any, bulge.", {"L4-L5": "unc"}),
    # the aside inside the finding's words (its commas are its own)
    ("L4-5: Mild, if any, canal stenosis.", {"L4-L5": "unc"}),
    ("L4-5: Disc bulge. Minimal canal narrowing, if any.", {"L4-L5": "d=bulge unc"}),
]

NEAR_MISSES = [
    # a list comma still ends a hedge's scope
    (
        "L4-5: Broad bulge, mild narrowing, small protrusion?",
        {"L4-L5": "d=bulge c=mild unc"},
    ),
    # a comma before another trigger inside a finding still ends that trigger's reach
    ("L4-5: Mild, not severe, canal stenosis.", {"L4-L5": "c=mild"}),
    # no "if any": a stated finding
    ("L4-5: Disc bulge. Minimal canal narrowing.", {"L4-L5": "d=bulge c=mild"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_if_any_doubts_the_finding(lab, text, want):
    assert found(lab.label(text)) == want
