"""A clause of grades and levels takes the place and stenosis word of the clause beside it
("Moderate stenosis at L3-4, severe at L4-5"), also when that clause names no place (an
unqualified stenosis is the canal's). Only a clause that says nothing else does: before, a
grade of something the lexicon does not know ("mild facet changes", "the disc height is
mildly reduced") or of another time ("previously moderate") became a stenosis grade."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Moderate stenosis at L3-4, severe at L4-5.",
            {"L3-L4": "c=moderate", "L4-L5": "c=severe"},
        ),
        (
            "Moderate stenosis at L3-4 and severe at L4-5.",
            {"L3-L4": "c=moderate", "L4-L5": "c=severe"},
        ),
        ("Severe stenosis at L4-5; mild at L3-4.", {"L3-L4": "c=mild", "L4-L5": "c=severe"}),
        (
            "Mild foraminal narrowing at L3-4, moderate at L4-5.",
            {"L3-L4": "lf=mild rf=mild", "L4-L5": "lf=moderate rf=moderate"},
        ),
        ("L4-5: Narrowing of the left foramen, which is moderate.", {"L4-L5": "lf=moderate"}),
        ("L4-5: Central canal stenosis, now severe.", {"L4-L5": "c=severe"}),
        (
            "L4-5: Persistent moderate right and mild left foraminal narrowing.",
            {"L4-L5": "lf=mild rf=moderate"},
        ),
    ],
)
def test_a_clause_of_grades_takes_the_stenosis_beside_it(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: No significant canal stenosis, mild facet changes.", {}),
        ("L4-5: Minimal bulge, no stenosis, mild facet changes.", {"L4-L5": "d=bulge"}),
        ("L4-5: There is no spinal stenosis, the disc height is mildly reduced.", {}),
        ("Mild stenosis at L4-5, previously moderate.", {"L4-L5": "c=mild"}),
        ("Moderate stenosis at L3-4, severe facet arthropathy at L4-5.", {"L3-L4": "c=moderate"}),
    ],
)
def test_a_clause_that_grades_something_else_takes_nothing(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: Foraminal stenosis, moderate on the left.", "lf=moderate"),
        ("L4-5: Foraminal narrowing, severe on the right.", "rf=severe"),
        ("L4-5: Lateral recess stenosis, moderate on the left.", "ls=moderate"),
        (
            "L4-5: Foraminal stenosis, moderate on the left and mild on the right.",
            "lf=moderate rf=mild",
        ),
        # a grade of its own, a side of its own or a place in the plural is on both sides
        ("L4-5: Mild foraminal stenosis, moderate on the left.", "lf=moderate rf=mild"),
        ("L4-5: Bilateral foraminal stenosis, severe on the left.", "lf=severe rf=unspecified"),
        ("L4-5: The foramina are narrowed, severely on the right.", "lf=unspecified rf=severe"),
        # no grade: "more on the left" says which side is worse, not which is narrowed
        ("L4-5: Foramina narrowed, more on the left.", "lf=unspecified rf=unspecified"),
    ],
)
def test_a_side_and_grade_after_an_unsided_place_say_which_side_it_was(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


@pytest.mark.parametrize(
    "text",
    [
        # a side given to another finding is not the stenosis's other side (right mild before)
        "L4-5: Mild left foraminal stenosis, anterolisthesis on the right.",
        "L4-5: Mild left foraminal stenosis, grade 1 anterolisthesis on the right.",
    ],
)
def test_a_side_of_another_finding_takes_no_stenosis(lab, text):
    assert found(lab.label(text)) == {"L4-L5": "lf=mild"}
