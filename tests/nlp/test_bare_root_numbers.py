"""A root named by its number alone after a contact or mass verb is a root ("new small L
paracentral protrusion contacting traversing L L5", "? contact R S1"): radiologists often leave
out the word "root"; the guide's root rules then apply (traversing root: the subarticular field
of its side; exiting root: the foramen)."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L5-S1: Right paracentral protrusion contacting the right S1.",
        {"L5-S1": "d=herniation rs=unspecified"},
    ),
    (
        "L4-5: Left paracentral protrusion compresses the left L5.",
        {"L4-L5": "d=herniation ls=unspecified"},
    ),
    (
        "L4-5: Left foraminal protrusion contacts the exiting left L4.",
        {"L4-L5": "d=herniation lf=unspecified"},
    ),
    (
        "L45: new small L paracentral protrusion contacting traversing L L5.",
        {"L4-L5": "d=herniation ls=unspecified"},
    ),
    # hedged: absent, and the level uncertain
    ("L5-S1: bulge w/ R paracentral component, ? contact R S1.", {"L5-S1": "d=bulge unc"}),
]

NEAR_MISSES = [
    # a root word: as before
    (
        "L4-5: Left paracentral protrusion compresses the left L5 nerve.",
        {"L4-L5": "d=herniation ls=unspecified"},
    ),
    # a vertebra, not a root
    ("L4-5: Protrusion contacts the L5 vertebra.", {"L4-L5": "d=herniation"}),
    # a number with no contact verb before it
    ("L5-S1: Right paracentral protrusion near S1.", {"L5-S1": "d=herniation"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_root_named_by_its_number_alone(lab, text, want):
    assert found(lab.label(text)) == want
