"""A place that heads a template line ("Recesses:", "Foramina:") is no finding of its own when
the line names a place of its kind again (guide: a foraminal or recess finding on a side):
"Recesses: severe right subarticular stenosis ...; left patent" is the right recess only, and
"Foramina: mild left foraminal narrowing" the left foramen only. A heading with only sides and
grades after it is the place they grade."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L4-5: Recesses: severe right subarticular stenosis with compression of the traversing"
        " right L5 root; left patent.",
        {"L4-L5": "rs=severe"},
    ),
    ("L4-5: Foramina: mild left foraminal narrowing.", {"L4-L5": "lf=mild"}),
]

NEAR_MISSES = [
    ("L4-5: Foramina: mild left, moderate right.", {"L4-L5": "lf=mild rf=moderate"}),
    (
        "L4-5: Foramina: moderate bilateral foraminal stenosis.",
        {"L4-L5": "lf=moderate rf=moderate"},
    ),
    ("L4-5: Foramina: left patent, right mildly narrowed.", {"L4-L5": "rf=mild"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_heading_place_named_again(lab, text, want):
    assert found(lab.label(text)) == want
