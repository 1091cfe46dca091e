"""A "no" between two places or sides that share one stenosis word is the second one's value:
"Mild right and no left foraminal narrowing" is right mild, left none, and "Mild canal and no
foraminal stenosis" is canal mild. Before, the "no" denied both. A negation coordinating no
other ("neither canal nor foraminal stenosis") still denies both."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    "text,expected",
    [
        ("L4-5: Mild right and no left neural foraminal narrowing.", "rf=mild"),
        ("L4-5: Moderate left and no right foraminal stenosis.", "lf=moderate"),
        ("L4-5: Mild right and no left lateral recess narrowing.", "rs=mild"),
        ("L4-5: Mild canal and no foraminal stenosis.", "c=mild"),
        ("L4-5: Moderate left foraminal and no canal stenosis.", "lf=moderate"),
        ("L4-5: Moderate lateral recess and no foraminal narrowing.", "ls=moderate rs=moderate"),
    ],
)
def test_the_no_is_the_second_places_value(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: Neither canal nor foraminal stenosis.",
        "L4-5: No canal or foraminal stenosis.",
        "L4-5: No right or left foraminal narrowing.",
    ],
)
def test_a_negation_of_both_still_denies_both(lab, text):
    assert found(lab.label(text)) == {}
