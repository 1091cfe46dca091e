"""A disc or a slip named by its vertebra (guide v1.2: listhesis and single-vertebra levels):
"the disc below L3" is L3-L4, "the disc above L4" is L3-L4, and "The L3 vertebral body is
retrolisthesed 4 mm on L4" names L3-L4 for the sentences after it too. A vertebra named for
something else names no level."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "The disc below L3 bulges diffusely and, with facet hypertrophy, narrows the canal"
        " moderately.",
        {"L3-L4": "d=bulge c=moderate"},
    ),
    ("The disc above L4 is herniated.", {"L3-L4": "d=herniation"}),
    (
        "The L3 vertebral body is retrolisthesed 4 mm on L4, with pseudo-bulging of the disc. No"
        " canal stenosis. The left neural foramen is mildly narrowed.",
        {"L3-L4": "d=bulge lf=mild"},
    ),
    ("L5 has slipped forward on S1 with uncovering of the disc.", {"L5-S1": "d=bulge"}),
    ("L4 is anterolisthesed on L5 with a pseudo-bulge.", {"L4-L5": "d=bulge"}),
]

NEAR_MISSES = [
    ("The disc above L1 is herniated.", {}),
    ("The L5 vertebra is normal.", {}),
    ("L4 has a haemangioma.", {}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_disc_or_slip_named_by_its_vertebra(lab, text, want):
    assert found(lab.label(text)) == want
