"""A list of grades and a grade of an earlier study. Before, the commas of "no mild, moderate
or severe stenosis" split it into clauses, so the negation stopped at the first comma and
the rest was read as severe stenosis; and "now mild (previously moderate)" took the higher,
earlier grade. Near misses keep the rules in bounds."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: No mild, moderate or severe stenosis.",
        "L4-5: No mild, moderate, or severe canal stenosis.",
        "L4-5: There is no mild, moderate or severe foraminal narrowing.",
        "L4-5: Without mild, moderate or severe central canal stenosis.",
    ],
)
def test_a_negated_list_of_grades_is_negated_whole(lab, text):
    assert found(lab.label(text)) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: Mild, moderate or severe canal stenosis.", "c=severe"),
        # a grade per side is not a list: each side keeps its own
        ("L4-5: Foraminal stenosis: left mild, moderate right.", "lf=mild rf=moderate"),
        (
            "L4-5: Mild canal stenosis, moderate foraminal stenosis bilaterally.",
            "c=mild lf=moderate rf=moderate",
        ),
    ],
)
def test_grades_that_are_not_a_negated_list_keep_their_values(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: Canal stenosis now mild (previously moderate).", "c=mild"),
        ("L4-5: Previously moderate canal stenosis is now mild.", "c=mild"),
        ("L4-5: Mild canal stenosis, moderate on the prior study.", "c=mild"),
        ("L4-5: Mild canal stenosis (moderate in the previous examination).", "c=mild"),
        ("L4-5: Canal stenosis has decreased from moderate to mild.", "c=mild"),
        ("L4-5: Canal stenosis has progressed from mild to moderate.", "c=moderate"),
        ("L4-5: Canal stenosis, improved to mild from moderate.", "c=mild"),
        ("L4-5: Moderate canal stenosis, previously mild.", "c=moderate"),
        # near misses: a range is still its higher grade, and "unchanged from prior" grades nothing
        ("L4-5: Mild to moderate canal stenosis.", "c=moderate"),
        ("L4-5: Canal stenosis ranging from mild to moderate.", "c=moderate"),
        ("L4-5: Moderate canal stenosis, unchanged from prior.", "c=moderate"),
        ("L4-5: Severe canal stenosis, formerly moderate.", "c=severe"),
    ],
)
def test_the_current_grade_wins_over_an_earlier_one(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


def test_an_earlier_grade_alone_is_not_a_current_grade(lab):
    # the stenosis is stated (current), its grade only for the earlier study
    assert found(lab.label("L4-5: Canal stenosis, previously moderate.")) == {
        "L4-L5": "c=unspecified"
    }
    assert found(lab.label("L4-5: No canal stenosis, previously moderate.")) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the current grade in a clause of its own, beside an earlier study's grade: before,
        # "previously" / "on the prior" stopped the clause lending its grade to the stenosis
        ("L4-5: Canal stenosis, now mild (previously moderate).", "c=mild"),
        ("L4-5: Canal stenosis, previously moderate, now mild.", "c=mild"),
        ("L4-5: Canal stenosis, mild on the prior, now moderate.", "c=moderate"),
        ("L4-5: Left foraminal stenosis, now moderate (formerly mild).", "lf=moderate"),
        # near misses: an earlier grade alone still grades nothing current
        ("L4-5: Canal stenosis, previously moderate.", "c=unspecified"),
        ("L4-5: Canal stenosis, moderate on the prior.", "c=unspecified"),
    ],
)
def test_a_current_grade_clause_beside_an_earlier_grade_grades_the_finding(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: Spinal stenosis, moderate in severity.", "c=moderate"),
        ("L4-5: Canal stenosis, which is mild in severity.", "c=mild"),
        ("L4-5: Foraminal stenosis, moderate in severity on the left.", "lf=moderate"),
    ],
)
def test_a_grade_clause_may_name_the_severity(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


def test_a_severity_of_something_else_grades_no_stenosis(lab):
    assert found(lab.label("L4-5: No canal stenosis, severity of facet disease moderate.")) == {}
