"""A second verb of the same subject narrows the same place (guide: a foraminal finding is the
foramen's, not the canal's): "The foramen was previously mildly narrowed and is now moderately
narrowed" is a moderate foraminal stenosis, not a canal one. A stenosis with a subject of its
own keeps its place."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L3-4: The foramen was previously mildly narrowed and is now moderately narrowed.",
        {"L3-L4": "lf=moderate rf=moderate"},
    ),
    (
        "L3-4: The right foramen was mildly narrowed and is now severely narrowed.",
        {"L3-L4": "rf=severe"},
    ),
    ("L3-4: The left foramen is narrowed and is moderately so.", {"L3-L4": "lf=moderate"}),
]

NEAR_MISSES = [
    ("L3-4: The left foramen is patent and is not narrowed.", {}),
    ("L3-4: Mild left foraminal narrowing and moderate stenosis.", {"L3-L4": "c=moderate lf=mild"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_second_verb_narrows_the_same_place(lab, text, want):
    assert found(lab.label(text)) == want
