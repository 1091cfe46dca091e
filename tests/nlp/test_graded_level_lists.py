"""A list of levels with their grades after a finding's heading, where one level's value is
"none" ("Canal stenosis: L3-4 mild, L4-5 moderate, L5-S1 none", "mild at L3-4, moderate at L4-5,
none at L5-S1"): the "none" is that level's value, not a denial of the levels before it. Before,
it negated every stenosis of the list (or, written before its level, took the level before it
with it). And a heading's "none at L4-5" is that level's none, as "Canal stenosis: none" is."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Canal stenosis: L3-4 mild, L4-5 moderate, L5-S1 none.",
            {"L3-L4": "c=mild", "L4-L5": "c=moderate"},
        ),
        (
            "Canal stenosis: L3-4 mild, L4-5 moderate, L5-S1 nil.",
            {"L3-L4": "c=mild", "L4-L5": "c=moderate"},
        ),
        (
            "Canal stenosis - L3-4: mild, L4-5: moderate, L5-S1: none.",
            {"L3-L4": "c=mild", "L4-L5": "c=moderate"},
        ),
        (
            "Canal stenosis: mild at L3-4, moderate at L4-5, none at L5-S1.",
            {"L3-L4": "c=mild", "L4-L5": "c=moderate"},
        ),
        (
            "Canal stenosis: mild at L3-4, moderate at L4-5, and none at L5-S1.",
            {"L3-L4": "c=mild", "L4-L5": "c=moderate"},
        ),
        (
            "Foraminal stenosis: L3-4 mild, L4-5 moderate, L5-S1 none.",
            {"L3-L4": "lf=mild rf=mild", "L4-L5": "lf=moderate rf=moderate"},
        ),
        (
            "Foramina: L3-4 mild bilateral, L4-5 moderate left, L5-S1 none.",
            {"L3-L4": "lf=mild rf=mild", "L4-L5": "lf=moderate"},
        ),
        ("Canal stenosis: none at L4-5.", {}),
        ("Canal stenosis: none at L4-5, mild at L5-S1.", {"L5-S1": "c=mild"}),
    ],
)
def test_a_listed_levels_none_is_its_own(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a "none" of the only level named still denies the finding before it
        ("Canal stenosis L5-S1 none.", {}),
        ("Canal stenosis: L5-S1 none.", {}),
        ("Canal stenosis: none.", {}),
        # the first item of a list, and a level with another value, as before
        ("Canal stenosis: L3-4 none, L4-5 moderate.", {"L4-L5": "c=moderate"}),
        (
            "Canal stenosis: L3-4 mild, L4-5 moderate, L5-S1 normal.",
            {"L3-L4": "c=mild", "L4-L5": "c=moderate"},
        ),
    ],
)
def test_near_misses(lab, text, expected):
    assert found(lab.label(text)) == expected
