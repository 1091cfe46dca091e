"""A disc "in conflict with" a root contacts it (the wording of French-trained writers; guide: a
traversing root contacted is its side's recess, an exiting one its foramen). Denied conflict is
none, and "conflict" of anything but a root is nothing."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L4-L5: Left posterolateral discal hernia. It enters in conflict with the left L5 root, which"
        " is displaced posteriorly in the lateral recess.",
        {"L4-L5": "d=herniation ls=unspecified"},
    ),
    (
        "L4-L5: Protrusion in conflict with the left L5 root.",
        {"L4-L5": "d=herniation ls=unspecified"},
    ),
]

NEAR_MISSES = [
    ("L5-S1: Protrusion without conflict with the S1 roots.", {"L5-S1": "d=herniation"}),
    ("L4-5: No disco-radicular conflict.", {}),
    ("L4-5: Conflict of interest: none.", {}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_conflict_with_a_root_is_contact(lab, text, want):
    assert found(lab.label(text)) == want
