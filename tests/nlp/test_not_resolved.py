"""A denied resolution is a current finding (guide v1.2 comparison wording: only resolution
wording makes a finding absent): "the extrusion has not resolved" and "has regressed but has
not resolved, and still displaces the L5 root" state the extrusion and its root contact.
Resolution itself still makes a finding absent."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L4-5: The extrusion has not resolved.", {"L4-L5": "d=herniation"}),
    ("L4-5: The extrusion has not completely resolved.", {"L4-L5": "d=herniation"}),
    ("L4-5: The extrusion hasn't resolved.", {"L4-L5": "d=herniation"}),
    ("L4-5: The extrusion isn't resolved yet.", {"L4-L5": "d=herniation"}),
    (
        "L4/5: The left paracentral extrusion has regressed in size but has not resolved, and"
        " still displaces the traversing left L5 root.",
        {"L4-L5": "d=herniation ls=unspecified"},
    ),
    (
        "L4-5: The extrusion is not resolved and still compresses the left L5 root.",
        {"L4-L5": "d=herniation ls=unspecified"},
    ),
]

NEAR_MISSES = [
    ("L4-5: The extrusion has resolved.", {}),
    ("L4-5: No extrusion; the prior one has resolved.", {}),
    ("L4-5: The protrusion has not yet regressed.", {"L4-L5": "d=herniation"}),
    ("L4-5: Incompletely resolved extrusion.", {"L4-L5": "d=herniation"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_denied_resolution_is_a_current_finding(lab, text, want):
    assert found(lab.label(text)) == want
