"""Encroachment on a nerve root is a contact of that root (guide: a root contacted, abutted,
displaced, impinged or compressed; which field by the root's level and kind): "Encroachment on
the left S1 nerve root" at L5-S1 is a left subarticular stenosis of no stated grade.
Encroachment on a place stays that place's stenosis."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L5-S1: Encroachment on the left S1 nerve root in the lateral recess.",
        {"L5-S1": "ls=unspecified"},
    ),
    ("L5-S1: Encroachment on the left S1 nerve root.", {"L5-S1": "ls=unspecified"}),
    ("L5-S1: The disc encroaches on the left S1 nerve root.", {"L5-S1": "ls=unspecified"}),
    ("L5-S1: The disc encroaches upon the exiting right L5 root.", {"L5-S1": "rf=unspecified"}),
]

NEAR_MISSES = [
    ("L5-S1: Encroachment on the left lateral recess.", {"L5-S1": "ls=unspecified"}),
    ("L5-S1: Left foraminal encroachment, mild.", {"L5-S1": "lf=mild"}),
    ("L4-5: Mild central canal encroachment.", {"L4-L5": "c=mild"}),
    ("L5-S1: No encroachment on the nerve roots.", {}),
    ("L5-S1: Disc bulge encroaches on the canal.", {"L5-S1": "d=bulge c=unspecified"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_encroachment_on_a_root_is_its_contact(lab, text, want):
    assert found(lab.label(text)) == want
