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
