"""A disc finding "at the level of" a single vertebra belongs to the disc below it (guide: a
disc finding placed at a single vertebra), as one "at L5" does: "At the level of L5 there is a
right paracentral protrusion" is an L5-S1 herniation. A vertebra with no disc finding after it
names no level."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("At the level of L5 there is a right paracentral protrusion.", {"L5-S1": "d=herniation"}),
    ("At the level of the L5 vertebra there is a protrusion.", {"L5-S1": "d=herniation"}),
    ("At the L5 vertebral level, a small disc bulge.", {"L5-S1": "d=bulge"}),
    ("At the level of L4, there is a broad-based disc bulge.", {"L4-L5": "d=bulge"}),
]

NEAR_MISSES = [
    ("At the L5 level there is a right paracentral protrusion.", {"L5-S1": "d=herniation"}),
    ("At the level of the L5 vertebral body there is a hemangioma.", {}),
    ("At the level of L3 the conus terminates.", {}),
    ("At the level of L4-5 there is a disc bulge.", {"L4-L5": "d=bulge"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_disc_at_the_level_of_a_vertebra_is_the_disc_below(lab, text, want):
    assert found(lab.label(text)) == want
