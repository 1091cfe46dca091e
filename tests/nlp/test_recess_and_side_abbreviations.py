"""Dictation short forms (guide: misspellings and abbreviations; the radiologists' NF, CCS): "LR" is
the lateral recess, a side letter before "NFS" or "LRS" is that side's, and "on the R" / "on
the L" name a side as "on the right" does. "On the L5 root" names a root, not a side."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L4-5: LR narrowing on the R.", {"L4-L5": "rs=unspecified"}),
    ("L4-5: Mild B/L LR stenosis.", {"L4-L5": "ls=mild rs=mild"}),
    ("L4-5: L LR narrowing.", {"L4-L5": "ls=unspecified"}),
    ("L4-5: Moderate CCS & mild L NFS.", {"L4-L5": "c=moderate lf=mild"}),
    ("L4-5: Mild R LRS.", {"L4-L5": "rs=mild"}),
    ("L4-5: Foraminal narrowing on the R.", {"L4-L5": "rf=unspecified"}),
    ("L4-5: NF narrowing on the L.", {"L4-L5": "lf=unspecified"}),
]

NEAR_MISSES = [
    ("L4-5: Mild L NFN.", {"L4-L5": "lf=mild"}),
    ("L4-5: L>R foraminal stenosis.", {"L4-L5": "lf=unspecified rf=unspecified"}),
    ("L4-5: LR patent.", {}),
    ("L4-5: Foraminal narrowing on the right.", {"L4-L5": "rf=unspecified"}),
    (
        "L4-5: Protrusion impinging on the L5 root.",
        {"L4-L5": "d=herniation ls=unspecified rs=unspecified"},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_recess_and_side_short_forms(lab, text, want):
    assert found(lab.label(text)) == want
