""" "Spinal" shares the stenosis word as "central" does ("moderate spinal and bilateral foraminal
stenosis" is a moderate canal stenosis and moderate foramina), and "central" or "spinal" shares
it with a lateral recess as with a foramen. Before, such a canal stenosis was lost and the
foramina lost their grade."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "L5-S1: Moderate spinal and bilateral foraminal stenosis.",
            {"L5-S1": "c=moderate lf=moderate rf=moderate"},
        ),
        (
            "L5-S1: Mild spinal and moderate bilateral foraminal stenosis.",
            {"L5-S1": "c=mild lf=moderate rf=moderate"},
        ),
        (
            "L5-S1: Moderate spinal and foraminal stenosis.",
            {"L5-S1": "c=moderate lf=moderate rf=moderate"},
        ),
        ("L5-S1: Moderate spinal, mild left foraminal stenosis.", {"L5-S1": "c=moderate lf=mild"}),
        (
            "L5-S1: Moderate central and bilateral lateral recess stenosis.",
            {"L5-S1": "c=moderate ls=moderate rs=moderate"},
        ),
        (
            "L5-S1: Mild central and subarticular narrowing on the left.",
            {"L5-S1": "c=mild ls=mild"},
        ),
    ],
)
def test_the_canal_shares_the_stenosis_word(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "spinal" naming no place of its own stays no canal
        (
            "L5-S1: Moderate bilateral foraminal stenosis. Spinal cord normal.",
            {"L5-S1": "lf=moderate rf=moderate"},
        ),
        ("L5-S1: Spinal and foraminal stenosis cannot be excluded.", {"L5-S1": "unc"}),
        ("L5-S1: No spinal or foraminal stenosis.", {}),
    ],
)
def test_near_misses(lab, text, expected):
    assert found(lab.label(text)) == expected
