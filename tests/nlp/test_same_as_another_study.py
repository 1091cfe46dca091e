"""A level described as the same as another study is not described as another level (guide:
comparison wording describes the current finding; it copies nothing from the level above):
"L4-5: Similar to the previous study" states no finding at L4-5. "Similar appearances but ..."
(with no comma before "but") still copies the level above."""

import pytest

from tests.nlp.conftest import found

ABOVE = "L3-4: Mild disc bulge. "

CASES = [
    (ABOVE + "L4-5: Similar to the previous study.", {"L3-L4": "d=bulge"}),
    (ABOVE + "L4-5: Similar to the previous exam.", {"L3-L4": "d=bulge"}),
    (ABOVE + "L4-5: Similar appearance to the prior study.", {"L3-L4": "d=bulge"}),
    (ABOVE + "L4-5: Same findings as on the prior MRI.", {"L3-L4": "d=bulge"}),
    (ABOVE + "L4-5: Similar appearance to prior.", {"L3-L4": "d=bulge"}),
    (
        "L3/4 There is a broad based disc protrusion causing mild canal narrowing. Both exit "
        "foramina are mildly narrowed.\nL4/5 Similar appearances but the canal is severely narrowed.",
        {
            "L3-L4": "d=herniation c=mild lf=mild rf=mild",
            "L4-L5": "d=herniation c=severe lf=mild rf=mild",
        },
    ),
]

NEAR_MISSES = [
    (ABOVE + "L4-5: Similar to the level above.", {"L3-L4": "d=bulge", "L4-L5": "d=bulge"}),
    (ABOVE + "L4-5: Similar appearances.", {"L3-L4": "d=bulge", "L4-L5": "d=bulge"}),
    (ABOVE + "L4-5: Same as above.", {"L3-L4": "d=bulge", "L4-L5": "d=bulge"}),
    (ABOVE + "L4-5: Similar to the previous.", {"L3-L4": "d=bulge", "L4-L5": "d=bulge"}),
    (ABOVE + "L4-5: Same as prior.", {"L3-L4": "d=bulge"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_the_same_as_another_study_copies_nothing(lab, text, want):
    assert found(lab.label(text)) == want
