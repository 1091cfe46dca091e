"""Mass effect on the thecal sac is canal stenosis (guide: the disc compresses, indents or
impinges on the thecal sac; a grade on it is the canal grade): it presses the sac in, which
"abuts" or "contacts" do not. Mass effect on a root stays that root's contact, and denied or
hedged mass effect states no stenosis."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L4-5: Mass effect on the ventral thecal sac.", {"L4-L5": "c=unspecified"}),
    ("L4-5: Mild mass effect upon the thecal sac.", {"L4-L5": "c=mild"}),
    (
        "L4-5: Protrusion with mass effect on the left ventral aspect of the thecal sac.",
        {"L4-L5": "d=herniation c=unspecified"},
    ),
    (
        "L4-5: Protrusion with mild mass effect on the ventral margin of the thecal sac.",
        {"L4-L5": "d=herniation c=mild"},
    ),
    (
        "L4-5: Mass effect on the thecal sac and the left L5 root.",
        {"L4-L5": "c=unspecified ls=unspecified"},
    ),
    # hedged: absent, and uncertain
    (
        "L4-5: Protrusion with possible mass effect on the thecal sac.",
        {"L4-L5": "d=herniation unc"},
    ),
]

NEAR_MISSES = [
    ("L4-5: No mass effect on the thecal sac.", {}),
    ("L4-5: Protrusion without mass effect on the thecal sac.", {"L4-L5": "d=herniation"}),
    (
        "L4-5: Small protrusion abutting the thecal sac without mass effect.",
        {"L4-L5": "d=herniation"},
    ),
    (
        "L4-5: Protrusion with mass effect on the left L5 root.",
        {"L4-L5": "d=herniation ls=unspecified"},
    ),
    ("L4-5: Protrusion abutting the thecal sac.", {"L4-L5": "d=herniation"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_mass_effect_on_the_sac_is_canal_stenosis(lab, text, want):
    assert found(lab.label(text)) == want
