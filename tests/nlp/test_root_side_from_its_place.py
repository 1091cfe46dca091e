"""An unsided root contact takes the side of the disc named in its sentence (guide v1.2), else
the side of the place of its kind the sentence names with one: "severe stenosis of the left
L5-S1 foramen with impingement of the exiting L5 root" is the left foramen's ("with no side
anywhere it applies to both sides"). Before, the root went to both sides."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Severe stenosis of the left L5-S1 foramen with impingement of the exiting L5 root.",
            {"L5-S1": "lf=severe"},
        ),
        (
            "L4-5: Moderate stenosis of the left lateral recess with compression of the L5 root.",
            {"L4-L5": "ls=moderate"},
        ),
        (
            "L5-S1: Severe right foraminal stenosis with contact of the exiting nerve root.",
            {"L5-S1": "rf=severe"},
        ),
    ],
)
def test_the_root_takes_the_side_of_its_place(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the disc's side comes first
        (
            "L4-5: Left foraminal narrowing and right paracentral protrusion contacting the "
            "exiting L4 root.",
            {"L4-L5": "d=herniation lf=unspecified rf=unspecified"},
        ),
        # a place of the other kind gives no side
        (
            "L4-5: Left foraminal narrowing; the traversing L5 root is compressed.",
            {"L4-L5": "lf=unspecified ls=unspecified rs=unspecified"},
        ),
        # places on both sides, and roots in the plural, leave both sides
        (
            "L4-5: Mild left and moderate right foraminal stenosis with contact of the exiting "
            "L4 root.",
            {"L4-L5": "lf=mild rf=moderate"},
        ),
        (
            "L4-5: Moderate stenosis of the left lateral recess with compression of the L5 roots.",
            {"L4-L5": "ls=moderate rs=unspecified"},
        ),
    ],
)
def test_near_misses(lab, text, expected):
    assert found(lab.label(text)) == expected
