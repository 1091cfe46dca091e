""" "Hernia" of a disc is a herniation (guide: herniation and its word forms): "discal hernia",
"disc hernia", hedged or denied as any herniation. A hernia of the body wall or diaphragm that an
abdominal slice shows is not a disc finding."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L4-L5: Left posterolateral discal hernia, sub-ligamentous, measuring 7 mm.",
        {"L4-L5": "d=herniation"},
    ),
    ("L4-5: Small central disc hernia.", {"L4-L5": "d=herniation"}),
    (
        "L5-S1: A small right foraminal hernia cannot be formally excluded on a single axial slice.",
        {"L5-S1": "unc"},
    ),
]

NEAR_MISSES = [
    ("L4-5: No disc hernia.", {}),
    ("L4-5: Inguinal hernia incidentally noted.", {}),
    ("L4-5: Hiatus hernia.", {}),
    ("L4-5: Small umbilical hernia.", {}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_disc_hernia_is_a_herniation(lab, text, want):
    assert found(lab.label(text)) == want
