"""A grade "rather than" another states the first and denies only the second: "Canal stenosis
is moderate rather than severe" is a moderate stenosis, not an absent one (guide: negated
findings are absent; of several statements grading one field the highest stated grade counts).
"Rather than" between two findings still denies the second (findings.yaml: it separates clauses)."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L4-5: Canal stenosis is moderate rather than severe.", {"L4-L5": "c=moderate"}),
    ("L4-5: The canal is mildly narrowed rather than severely.", {"L4-L5": "c=mild"}),
    # the two grades before the finding word: the first grades it
    ("L4-5: Moderate rather than severe canal stenosis.", {"L4-L5": "c=moderate"}),
    ("L4-5: Severe rather than moderate canal stenosis.", {"L4-L5": "c=severe"}),
    ("L4-5: Mild rather than moderate left foraminal narrowing.", {"L4-L5": "lf=mild"}),
    ("L4-5: Mildly rather than moderately narrowed canal.", {"L4-L5": "c=mild"}),
    (
        "L4-5: Bulge rather than protrusion, with moderate rather than severe canal stenosis.",
        {"L4-L5": "d=bulge c=moderate"},
    ),
]

NEAR_MISSES = [
    ("L4-5: Bulge rather than herniation.", {"L4-L5": "d=bulge"}),
    ("L4-5: Moderate canal stenosis, rather than severe.", {"L4-L5": "c=moderate"}),
    (
        "L4-5: Bulge rather than a true herniation, with mild canal stenosis.",
        {"L4-L5": "d=bulge c=mild"},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_rather_than_denies_the_second_grade(lab, text, want):
    assert found(lab.label(text)) == want
