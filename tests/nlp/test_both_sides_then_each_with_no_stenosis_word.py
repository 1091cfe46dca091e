"""A place named on both sides, then each side with its own value after a colon or in brackets,
gives each side its own value even with no stenosis word (guide: a grade per side after the place
named once): "Bilateral foramina: left moderate, right mild" is left moderate, right mild, not
both moderate. With one side after the colon "bilateral" still names the other."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L4-5: Bilateral foramina: left moderate, right mild.", {"L4-L5": "lf=moderate rf=mild"}),
    ("L4-5: Both foramina: left moderate, right mild.", {"L4-L5": "lf=moderate rf=mild"}),
    (
        "L4-5: Neural foramina bilaterally: left moderate, right mild.",
        {"L4-L5": "lf=moderate rf=mild"},
    ),
    ("L4-5: Both foramina (left moderate, right mild).", {"L4-L5": "lf=moderate rf=mild"}),
]

NEAR_MISSES = [
    (
        "L4-5: Bilateral foraminal stenosis: left moderate, right mild.",
        {"L4-L5": "lf=moderate rf=mild"},
    ),
    ("L4-5: Foramina: left moderate, right mild.", {"L4-L5": "lf=moderate rf=mild"}),
    ("L4-5: Bilateral foramina: left moderate.", {"L4-L5": "lf=moderate rf=moderate"}),
    ("L4-5: Bilateral lateral recesses: right severe, left none.", {"L4-L5": "rs=severe"}),
    ("L4-5: Bilateral foramina: moderate.", {"L4-L5": "lf=moderate rf=moderate"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_each_side_keeps_its_value(lab, text, want):
    assert found(lab.label(text)) == want
