"""A second verb after "and" has the root of the first as its subject, not a root past a
semicolon (guide: the traversing root contacted on a side is that side's recess): "The left S1
root is compressed and displaced posteriorly; the right S1 root is possibly contacted" is a
definite left contact and a hedged right one."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L5-S1: The left S1 root is compressed and displaced posteriorly; the right S1 root is"
        " possibly contacted.",
        {"L5-S1": "ls=unspecified unc"},
    ),
    ("L5-S1: The right S1 root is contacted and mildly displaced.", {"L5-S1": "rs=mild"}),
]

NEAR_MISSES = [
    (
        "L5-S1: The left S1 root is compressed and displaced posteriorly.",
        {"L5-S1": "ls=unspecified"},
    ),
    (
        "L5-S1: Protrusion contacts but does not compress the S1 roots.",
        {"L5-S1": "d=herniation ls=unspecified rs=unspecified"},
    ),
    (
        "L5-S1: Protrusion close to the left S1 root; contact cannot be excluded.",
        {"L5-S1": "d=herniation unc"},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_second_verb_of_a_root(lab, text, want):
    assert found(lab.label(text)) == want
