"""A verb that narrows "it" takes the place just named, and what is said of that verb is said
of the narrowing (guide: negated and hedged findings are absent): "extends into the left
foramen, without narrowing it" states no foraminal stenosis, "possibly narrowing it" a hedged
one, and a synovial cyst "displacing the thecal sac ..., without narrowing it" no canal
stenosis. "Narrowing it mildly" still grades the place."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L4-L5: Synovial cyst arising from the right facet joint, displacing the thecal sac slightly"
        " to the left, without narrowing it.",
        {},
    ),
    (
        "L4-L5: The protrusion extends into the left foramen, without narrowing it.",
        {"L4-L5": "d=herniation"},
    ),
    (
        "L4-L5: The protrusion extends into the left foramen, possibly narrowing it.",
        {"L4-L5": "d=herniation unc"},
    ),
]

NEAR_MISSES = [
    (
        "L4-L5: Disc bulge extends into the right neural foramen, narrowing it mildly.",
        {"L4-L5": "d=bulge rf=mild"},
    ),
    (
        "L4-L5: The protrusion extends into the left foramen, narrowing it.",
        {"L4-L5": "d=herniation lf=unspecified"},
    ),
    (
        "L4-L5: Synovial cyst compressing the thecal sac, narrowing it moderately.",
        {"L4-L5": "c=moderate"},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_narrowing_it(lab, text, want):
    assert found(lab.label(text)) == want
