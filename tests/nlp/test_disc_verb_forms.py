"""Word forms count (guide: disc): the verbs of a disc finding as well as its nouns and
participles. "The disc herniates into the left foramen" is a herniation (a location word names
where the disc is, not a stenosis); a real word one letter from a new form stays itself."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L4-5: The disc herniates into the left foramen.", {"L4-L5": "d=herniation"}),
    ("L4-5: The disc extrudes superiorly.", {"L4-L5": "d=herniation"}),
    ("L4-5: Disc material extruding into the left lateral recess.", {"L4-L5": "d=herniation"}),
    ("L4-5: Prolapsing disc.", {"L4-L5": "d=herniation"}),
    ("L4-5: The disc bulged posteriorly.", {"L4-L5": "d=bulge"}),
    ("L4-5: The disc may herniate.", {"L4-L5": "unc"}),
]

NEAR_MISSES = [
    ("L4-5: Fluid exudes from the facet joint.", {}),
    ("L4-5: The disc protrudes posteriorly.", {"L4-L5": "d=herniation"}),
    ("L4-5: No disc bulge or protrusion.", {}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_disc_verb_is_its_finding(lab, text, want):
    assert found(lab.label(text)) == want
