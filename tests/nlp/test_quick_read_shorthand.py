"""The shorthand of quick reads (guide v1.2: dictation abbreviations): "NR" is a nerve root,
"DB" a disc bulge and "prot" a protrusion. Words that only begin with those letters are not."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L4-5: L paracentral HNP impinging L L5 NR.", {"L4-L5": "d=herniation ls=unspecified"}),
    (
        "L4-5: Protrusion contacting the traversing left L5 NR.",
        {"L4-L5": "d=herniation ls=unspecified"},
    ),
    ("L4-5: Broad DB w/ mod CCS, mild B/L NFN.", {"L4-L5": "d=bulge c=moderate lf=mild rf=mild"}),
    ("L4-5: Small disc prot.", {"L4-L5": "d=herniation"}),
    ("L4-5: Sm central prot, no sig stenosis.", {"L4-L5": "d=herniation"}),
    ("L4-5: Small prot. abutting the R L5 NR.", {"L4-L5": "d=herniation rs=unspecified"}),
]

NEAR_MISSES = [
    ("L4-5: Protocol standard.", {}),
    (
        "L4-5: Protrusion impinging the left L5 nerve root.",
        {"L4-L5": "d=herniation ls=unspecified"},
    ),
    ("L4-5: No disc bulge.", {}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_quick_read_shorthand(lab, text, want):
    assert found(lab.label(text)) == want
