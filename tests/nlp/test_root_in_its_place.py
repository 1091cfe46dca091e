"""A root contact and the place it happens in, stated in one clause, are one event with one side
(guide v1.2: the exiting root is the foramen's, the traversing root the lateral recess's). "The
right exiting L4 root is compressed in the foramen" is the right foramen's; before, the place
named without a side also went to the left."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "L4-5: The exiting L4 nerve root is compressed in the right foramen.",
            {"L4-L5": "rf=unspecified"},
        ),
        (
            "L4-5: The right exiting L4 nerve root is compressed in the foramen.",
            {"L4-L5": "rf=unspecified"},
        ),
        (
            "L4-5: The right L4 nerve root is compressed in the foramen.",
            {"L4-L5": "rf=unspecified"},
        ),
        (
            "L4-5: The exiting L4 root is compressed in the left foramen.",
            {"L4-L5": "lf=unspecified"},
        ),
        (
            "L4-5: The traversing L5 root is compressed in the left lateral recess.",
            {"L4-L5": "ls=unspecified"},
        ),
        (
            "L5-S1: The right traversing S1 root is compressed in the lateral recess.",
            {"L5-S1": "rs=unspecified"},
        ),
    ],
)
def test_one_side_for_the_root_and_its_place(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a foraminal narrowing of its own clause keeps both sides
        (
            "L4-5: Foraminal narrowing with compression of the right exiting root.",
            {"L4-L5": "lf=unspecified rf=unspecified"},
        ),
        # an unsided root contact in an unsided place goes to both sides, as before
        (
            "L4-5: The exiting L4 root is compressed in the foramen.",
            {"L4-L5": "lf=unspecified rf=unspecified"},
        ),
        # a sided place and a root on the other side: both stay
        (
            "L4-5: The left exiting L4 root is compressed in the right foramen.",
            {"L4-L5": "lf=unspecified rf=unspecified"},
        ),
    ],
)
def test_near_misses(lab, text, expected):
    assert found(lab.label(text)) == expected
