"""A level in a list with only a grade, a side or a direction of its own ("Disc bulges at L3-4
(mild) and L4-5 (moderate)", "protrusions at L4-5 (central) and L5-S1 (left paracentral)",
"mild disc bulge at L3-4, moderate at L4-5") has the disc of the clause before it. Before, the
levels after the first lost their disc."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Disc protrusions at L4-5 (central) and L5-S1 (left paracentral).",
            {"L4-L5": "d=herniation", "L5-S1": "d=herniation"},
        ),
        (
            "Disc protrusions at L4-5, central, and L5-S1, left paracentral.",
            {"L4-L5": "d=herniation", "L5-S1": "d=herniation"},
        ),
        (
            "Disc bulges at L3-4 (mild) and L4-5 (moderate).",
            {"L3-L4": "d=bulge", "L4-L5": "d=bulge"},
        ),
        ("Mild disc bulge at L3-4, moderate at L4-5.", {"L3-L4": "d=bulge", "L4-L5": "d=bulge"}),
    ],
)
def test_a_listed_level_has_the_disc_before_it(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a grade of a stenosis stays the stenosis's
        (
            "Disc bulge at L4-5 with moderate stenosis, mild at L5-S1.",
            {"L4-L5": "d=bulge c=moderate", "L5-S1": "c=mild"},
        ),
        # a level with another finding, another value, or as a comparison's term
        ("Disc bulge at L4-5, mild facet arthropathy at L5-S1.", {"L4-L5": "d=bulge"}),
        ("Disc bulge at L4-5, normal at L5-S1.", {"L4-L5": "d=bulge"}),
        ("Disc bulge at L4-5, none at L5-S1.", {"L4-L5": "d=bulge"}),
        ("Disc bulge at L4-5, more than at L3-4.", {"L4-L5": "d=bulge"}),
        ("No disc herniation at L3-4, L4-5 (central).", {}),
    ],
)
def test_near_misses(lab, text, expected):
    assert found(lab.label(text)) == expected
