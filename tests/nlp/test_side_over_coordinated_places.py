"""A side word before coordinated places is theirs (guide: a foraminal finding that names no side
applies to both; here the side is named once for both places): "Moderate left subarticular and
foraminal stenosis" is the left recess and the left foramen, not both foramina. A place named in
the plural, or with a side of its own, or a separate finding after "with", keeps its sides."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L4-5: Moderate left subarticular and foraminal stenosis.",
        {"L4-L5": "lf=moderate ls=moderate"},
    ),
    (
        "L4-5: The left lateral recess and foramen are narrowed.",
        {"L4-L5": "lf=unspecified ls=unspecified"},
    ),
    (
        "L4-5: Moderate narrowing of the left lateral recess and neural foramen.",
        {"L4-L5": "lf=moderate ls=moderate"},
    ),
    (
        "L4-5: Disc bulge eccentric to the right, narrowing the right lateral recess and foramen.",
        {"L4-L5": "d=bulge rf=unspecified rs=unspecified"},
    ),
    (
        "L4-5: Left lateral recess and foraminal narrowing.",
        {"L4-L5": "lf=unspecified ls=unspecified"},
    ),
]

NEAR_MISSES = [
    (
        "L4-5: Narrowing of the left lateral recess and the foramina.",
        {"L4-L5": "lf=unspecified rf=unspecified ls=unspecified"},
    ),
    (
        "L4-5: Mild left foraminal and severe right subarticular stenosis.",
        {"L4-L5": "lf=mild rs=severe"},
    ),
    (
        "L4-5: Left lateral recess narrowing with foraminal narrowing.",
        {"L4-L5": "lf=unspecified rf=unspecified ls=unspecified"},
    ),
    (
        "L4-5: Moderate left lateral recess and bilateral foraminal stenosis.",
        {"L4-L5": "lf=moderate rf=moderate ls=moderate"},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_side_before_coordinated_places_is_theirs(lab, text, want):
    assert found(lab.label(text)) == want
