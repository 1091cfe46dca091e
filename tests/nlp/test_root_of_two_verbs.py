"""A root named after two verbs is the object of both, and a hedge on the second is not on
the first (guide: a finding offered with a hedge is absent and uncertain; a definite finding
in the same sentence stays present): "abutting and possibly compressing the right L5 root" is a
definite contact of that root. A hedge before both verbs, or a root contact that is itself
doubted, stay hedged."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L4-5: Protrusion abutting and possibly compressing the right L5 root.",
        {"L4-L5": "d=herniation rs=unspecified"},
    ),
    (
        "L4-5: Protrusion which contacts and may compress the right L5 root.",
        {"L4-L5": "d=herniation rs=unspecified"},
    ),
    (
        "L4-5: Protrusion abutting and possibly displacing the right L5 root.",
        {"L4-L5": "d=herniation rs=unspecified"},
    ),
]

NEAR_MISSES = [
    (
        "L4-5: Protrusion possibly abutting and compressing the right L5 root.",
        {"L4-L5": "d=herniation unc"},
    ),
    (
        "L4-5: A contact with the traversing left L5 nerve root cannot be excluded.",
        {"L4-L5": "unc"},
    ),
    (
        "L4-5: Protrusion contacts but does not compress the right L5 root.",
        {"L4-L5": "d=herniation rs=unspecified"},
    ),
    (
        "L4-5: Protrusion abutting and compressing the right L5 root.",
        {"L4-L5": "d=herniation rs=unspecified"},
    ),
    ("L4-5: No protrusion abutting or compressing the right L5 root.", {}),
    (
        "L4-5: Protrusion abutting and mildly compressing the right L5 root.",
        {"L4-L5": "d=herniation rs=mild"},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_hedge_on_the_second_verb_leaves_the_first(lab, text, want):
    assert found(lab.label(text)) == want
