"""A sentence of a side and its value only goes on the sentence before it, whose foramen or
recess it grades: "No foraminal stenosis on the left. Mild on the right." is right mild, and
"Foraminal stenosis. Left: mild. Right: moderate." left mild, right moderate. Before, the
value sentence named no place and gave nothing, and a negation before it denied both sides."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    "text,expected",
    [
        ("L4-5: No foraminal stenosis on the left. Mild on the right.", "rf=mild"),
        ("L4-5: Foraminal stenosis. Left: mild. Right: moderate.", "lf=mild rf=moderate"),
        ("L4-5: Mild foraminal stenosis on the left. None on the right.", "lf=mild"),
        ("L4-5: Right foraminal narrowing. Moderate on the left.", "lf=moderate rf=unspecified"),
        ("L4-5: Lateral recess narrowing. L: mild. R: severe.", "ls=mild rs=severe"),
        ("L4-5: Foraminal stenosis. Left: mild to moderate. Right: none.", "lf=moderate"),
        (
            "L4-5: The foramina are narrowed. Mild on the left. Severe on the right.",
            "lf=mild rf=severe",
        ),
    ],
)
def test_a_side_value_sentence_grades_the_place_before_it(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


@pytest.mark.parametrize(
    "text,expected",
    [
        # no lateral place before it: nothing to grade
        ("L4-5: Disc bulge. Left: mild.", "d=bulge"),
        ("L4-5: Moderate canal stenosis. Mild bilaterally.", "c=moderate"),
        # an abbreviation's full stop still separates nothing (stop 32)
        ("Level L4/5 - mod. canal stenosis", "c=moderate"),
    ],
)
def test_near_misses(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


@pytest.mark.parametrize(
    "text,expected",
    [
        # a side with no value of its own after a graded place has the same grade (the side
        # was unspecified, or lost, before)
        (
            "L4-5: The left foramen is moderately narrowed, as is the right.",
            "lf=moderate rf=moderate",
        ),
        ("L4-5: Mild left lateral recess narrowing, as is the right.", "ls=mild rs=mild"),
        (
            "L4-5: Moderate left foraminal narrowing, and on the right as well.",
            "lf=moderate rf=moderate",
        ),
        (
            "L4-5: Moderate stenosis of the left foramen, as well as the right.",
            "lf=moderate rf=moderate",
        ),
        # near misses: no grade to repeat, or a grade of its own
        (
            "L4-5: Foraminal narrowing on the left, and on the right.",
            "lf=unspecified rf=unspecified",
        ),
        ("L4-5: Moderate left foraminal stenosis, right mild.", "lf=moderate rf=mild"),
    ],
)
def test_a_side_with_no_value_repeats_the_grade(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


@pytest.mark.parametrize(
    "text",
    [
        # a grade on a numbered scale the guide does not map (Lee) is a stenosis of no stated
        # grade on its side: the right side was lost before
        "L4-5: Foraminal stenosis Lee grade 2 on the left, grade 1 on the right.",
        "L4-5: Foraminal stenosis, grade 2 on the left and grade 1 on the right.",
    ],
)
def test_a_numbered_grade_keeps_its_side(lab, text):
    assert found(lab.label(text)) == {"L4-L5": "lf=unspecified rf=unspecified"}


@pytest.mark.parametrize(
    "text,expected",
    [
        # "the same" on the other side, in a sentence of its own or a clause (nothing before)
        (
            "L4-5: Moderate foraminal narrowing on the left. Similar on the right.",
            "lf=moderate rf=moderate",
        ),
        ("L4-5: Moderate left foraminal narrowing. Same on the right.", "lf=moderate rf=moderate"),
        ("L4-5: Mild right lateral recess narrowing. The same on the left.", "ls=mild rs=mild"),
        ("L4-5: Moderate left foraminal narrowing, same on the right.", "lf=moderate rf=moderate"),
    ],
)
def test_the_same_on_the_other_side(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}
