"""A "no" after a level heading's colon denies what follows it: "L4-5: No right foraminal
narrowing" and "L4-5: No left or right foraminal narrowing" state no stenosis. Before, the
heading-value rule (": none", for "NF: none right") read ": no" followed by a side word as a
value of its own, looking back, and the stenosis after it came out unspecified. A "no" that
only a side follows is still a value ("NF: no R, mild L")."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: No right foraminal narrowing.",
        "L4-5: No left or right foraminal narrowing.",
        "L4-5: No right or left neural foraminal stenosis.",
        "L4-5: No bilateral foraminal narrowing.",
        "L4-5: No L lateral recess narrowing.",
    ],
)
def test_a_no_after_the_colon_denies_what_follows(lab, text):
    assert found(lab.label(text)) == {}


@pytest.mark.parametrize(
    "text,expected",
    [
        ("L4-5: Foraminal stenosis: no R, mild L.", "lf=mild"),
        ("L4-5: Foraminal stenosis: none right, mild left.", "lf=mild"),
        ("L4-5: Canal stenosis: no. Disc bulge.", "d=bulge"),
    ],
)
def test_a_heading_value_still_denies_its_side(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}
