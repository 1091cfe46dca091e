"""Grades paired with levels by "respectively" go to their own levels. Before, "narrowed at
L3-4 and L4-5, mild and moderate respectively" gave both levels a stenosis of no grade (the
clause of grades held a word it may not), and "mild and moderate canal stenosis at L3-4 and
L4-5 respectively" gave both levels the higher grade. Near misses keep the rule in bounds."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    "text",
    [
        "The central canal is narrowed at L3-4 and L4-5, mild and moderate respectively.",
        "Mild and moderate canal stenosis at L3-4 and L4-5 respectively.",
        "L3-4 and L4-5 demonstrate mild and moderate canal stenosis, respectively.",
    ],
)
def test_each_level_takes_its_own_grade(lab, text):
    assert found(lab.label(text)) == {"L3-L4": "c=mild", "L4-L5": "c=moderate"}


def test_the_disc_findings_of_the_levels_stay(lab):
    text = "Disc bulges at L3-4 and L4-5 with mild and moderate canal stenosis respectively."
    assert found(lab.label(text)) == {"L3-L4": "d=bulge c=mild", "L4-L5": "d=bulge c=moderate"}


@pytest.mark.parametrize(
    "text",
    [
        # a range without "respectively" is still its higher grade at every level
        "Mild to moderate canal stenosis at L3-4 and L4-5.",
        # one grade for two levels: nothing to pair
        "Moderate canal stenosis at L3-4 and L4-5, respectively.",
    ],
)
def test_near_misses_keep_one_grade(lab, text):
    assert found(lab.label(text)) == {"L3-L4": "c=moderate", "L4-L5": "c=moderate"}


def test_grades_that_do_not_pair_with_the_levels_keep_the_higher(lab):
    text = "Mild and moderate canal stenosis at L2-3, L3-4 and L4-5 respectively."
    assert found(lab.label(text)) == {
        "L2-L3": "c=moderate",
        "L3-L4": "c=moderate",
        "L4-L5": "c=moderate",
    }


@pytest.mark.parametrize(
    "text",
    [
        # a comma cuts a list of three grades into two items ("mild, | moderate and severe"):
        # every level took the highest grade before
        "Canal stenosis at L2-3, L3-4 and L4-5 is mild, moderate and severe respectively.",
        "Mild, moderate and severe canal stenosis at L2-3, L3-4 and L4-5, respectively.",
        "Canal stenosis at L2-3, L3-4 and L4-5: mild, moderate, severe respectively.",
    ],
)
def test_a_list_of_three_grades_pairs_with_three_levels(lab, text):
    assert found(lab.label(text)) == {
        "L2-L3": "c=mild",
        "L3-L4": "c=moderate",
        "L4-L5": "c=severe",
    }


@pytest.mark.parametrize(
    "text,upper,lower",
    [
        # a range in the list is one grade, its higher end (guide v1.2)
        (
            "Canal stenosis at L3-4 and L4-5 is mild and moderate to severe respectively.",
            "mild",
            "severe",
        ),
        (
            "Canal stenosis at L3-4 and L4-5 is mild/moderate and severe respectively.",
            "moderate",
            "severe",
        ),
        (
            "Canal stenosis at L3-4 and L4-5 is mild, moderate - severe respectively.",
            "mild",
            "severe",
        ),
    ],
)
def test_a_range_in_the_list_is_one_grade(lab, text, upper, lower):
    assert found(lab.label(text)) == {"L3-L4": f"c={upper}", "L4-L5": f"c={lower}"}


@pytest.mark.parametrize(
    "text,expected",
    [
        # two sides paired with two grades: each side its own (both took the higher before)
        (
            "L4-5: Foraminal stenosis, left and right, mild and moderate respectively.",
            "lf=mild rf=moderate",
        ),
        (
            "L4-5: Mild and moderate left and right foraminal stenosis respectively.",
            "lf=mild rf=moderate",
        ),
        (
            "L4-5: Moderate and mild right and left foraminal narrowing, respectively.",
            "lf=mild rf=moderate",
        ),
        (
            "L4-5: Lateral recess narrowing, left and right, moderate and mild respectively.",
            "ls=moderate rs=mild",
        ),
        # near misses: no "respectively", or the grades pair with levels
        ("L4-5: Mild and moderate left and right foraminal stenosis.", "lf=moderate rf=moderate"),
    ],
)
def test_two_sides_pair_with_two_grades(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


def test_grades_paired_with_levels_keep_their_side(lab):
    text = "Mild and moderate left foraminal stenosis at L3-4 and L4-5 respectively."
    assert found(lab.label(text)) == {"L3-L4": "lf=mild", "L4-L5": "lf=moderate"}
