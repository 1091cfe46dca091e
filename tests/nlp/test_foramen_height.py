"""A foramen made smaller in height or calibre is foraminal narrowing (guide: foraminal
stenosis/narrowing on a side), as a smaller canal diameter is canal narrowing: "decreased
foraminal height", "loss of height of the right neural foramen", "reduced caliber of the left
neural foramen". The height of a disc or a vertebra is no stenosis."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L5-S1: Decreased foraminal height bilaterally.", {"L5-S1": "lf=unspecified rf=unspecified"}),
    ("L5-S1: Decreased height of the left neural foramen.", {"L5-S1": "lf=unspecified"}),
    ("L5-S1: Loss of right foraminal height.", {"L5-S1": "rf=unspecified"}),
    ("L5-S1: Mildly decreased left foraminal height.", {"L5-S1": "lf=mild"}),
    ("L5-S1: The height of the right neural foramen is decreased.", {"L5-S1": "rf=unspecified"}),
    # two words between "of the" and the place
    ("L5-S1: Reduced caliber of the left neural foramen.", {"L5-S1": "lf=unspecified"}),
]

NEAR_MISSES = [
    # (read so before: "reduced" after the place)
    ("L5-S1: The left foraminal height is mildly reduced.", {"L5-S1": "lf=mild"}),
    ("L5-S1: Loss of disc height.", {}),
    ("L5-S1: Decreased disc height with mild bulge.", {"L5-S1": "d=bulge"}),
    ("L5-S1: Loss of height of the L5 vertebral body.", {}),
    ("L5-S1: Foraminal height is preserved.", {}),
    ("L4-5: Reduced AP diameter of the canal.", {"L4-L5": "c=unspecified"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_smaller_foramen_is_foraminal_narrowing(lab, text, want):
    assert found(lab.label(text)) == want
