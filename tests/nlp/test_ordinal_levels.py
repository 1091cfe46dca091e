"""Some of the levels a sentence named, by their place: "with mild canal stenosis at the latter
two levels", "the last of these", "the first of which". Before, such a clause took every level
the sentence named. Near misses: a place word that is not a reference ("the lower lumbar
spine"), and a reference that covers every level named."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "L3-4, L4-5 and L5-S1 show disc bulges, with mild canal stenosis at the latter two levels.",
            {"L3-L4": "d=bulge", "L4-L5": "d=bulge c=mild", "L5-S1": "d=bulge c=mild"},
        ),
        (
            "Disc bulges at L3-4, L4-5 and L5-S1, with moderate stenosis at the lower two.",
            {"L3-L4": "d=bulge", "L4-L5": "d=bulge c=moderate", "L5-S1": "d=bulge c=moderate"},
        ),
        (
            "Disc bulges at L3-4, L4-5 and L5-S1, the upper two causing mild canal stenosis.",
            {"L3-L4": "d=bulge c=mild", "L4-L5": "d=bulge c=mild", "L5-S1": "d=bulge"},
        ),
        (
            "Disc bulges at L2-3 and L4-5, mild canal stenosis at the latter.",
            {"L2-L3": "d=bulge", "L4-L5": "d=bulge c=mild"},
        ),
        (
            "Protrusions at L3-4 and L4-5, the former with moderate canal stenosis.",
            {"L3-L4": "d=herniation c=moderate", "L4-L5": "d=herniation"},
        ),
        (
            "Bulges at L2-3 and L4-5 with moderate stenosis at the upper level and mild at the lower one.",
            {"L2-L3": "d=bulge c=moderate", "L4-L5": "d=bulge c=mild"},
        ),
        # "the last of these", "the first of which", "the last causing ..."
        (
            "Small disc bulges at L2-3, L3-4 and L4-5, the last of these causing mild narrowing of"
            " the canal.",
            {"L2-L3": "d=bulge", "L3-L4": "d=bulge", "L4-L5": "d=bulge c=mild"},
        ),
        (
            "Small disc bulges at L2-3, L3-4 and L4-5, the last causing mild narrowing of the canal.",
            {"L2-L3": "d=bulge", "L3-L4": "d=bulge", "L4-L5": "d=bulge c=mild"},
        ),
        (
            "Disc bulges at L3-4 and L4-5, the first of which narrows the canal mildly.",
            {"L3-L4": "d=bulge c=mild", "L4-L5": "d=bulge"},
        ),
        (
            "Disc bulges at L3-4 and L4-5, the lower with mild canal stenosis.",
            {"L3-L4": "d=bulge", "L4-L5": "d=bulge c=mild"},
        ),
        # near misses
        (
            "Disc bulges at L3-4 and L4-5, the latter with mild canal stenosis.",
            {"L3-L4": "d=bulge", "L4-L5": "d=bulge c=mild"},
        ),
        (
            "Mild bulges at L3-4 and L4-5. The lower lumbar spine shows facet arthropathy.",
            {"L3-L4": "d=bulge", "L4-L5": "d=bulge"},
        ),
        (
            "Disc bulges at L4-5 and L5-S1, with mild canal stenosis at the latter two levels.",
            {"L4-L5": "d=bulge c=mild", "L5-S1": "d=bulge c=mild"},
        ),
        (
            "Bulges at L4-5 and L5-S1 with mild stenosis in the lower lumbar spine.",
            {"L4-L5": "d=bulge c=mild", "L5-S1": "d=bulge c=mild"},
        ),
    ],
)
def test_a_reference_by_place_takes_those_levels_only(lab, text, expected):
    assert found(lab.label(text)) == expected
