"""An aside between a place and what is said of it ("the foramina, however, are moderately
narrowed") cuts no clause: the stenosis is the place's, not a stenosis with no place, which
would be the canal's (guide: canal stenosis is stated of the canal; foraminal of a foramen)."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L4-5: The canal is not narrowed; the foramina, however, are moderately narrowed.",
        {"L4-L5": "lf=moderate rf=moderate"},
    ),
    (
        "L4-5: The canal is patent. The left foramen, however, is severely narrowed.",
        {"L4-L5": "lf=severe"},
    ),
    ("L4-5: The foramina, though, are mildly narrowed.", {"L4-L5": "lf=mild rf=mild"}),
]

NEAR_MISSES = [
    ("L4-5: Mild canal stenosis, however, no foraminal stenosis.", {"L4-L5": "c=mild"}),
    (
        "L4-5: No canal stenosis; however, the foramina are narrowed.",
        {"L4-L5": "lf=unspecified rf=unspecified"},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_an_aside_cuts_no_clause(lab, text, want):
    assert found(lab.label(text)) == want
