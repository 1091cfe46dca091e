""" "Not significant" after a finding denies it, as "no significant" before it does (guide v1.2:
"No significant stenosis" is none); a grade the report states stays. "Nil" that ends its clause
denies what comes before it, as "none" does. Before, "canal stenosis is not significant" and
"canal stenosis - nil" were read as a canal stenosis of no stated grade."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: Canal stenosis is not significant.", {}),
        ("L4-5: Disc bulge. Spinal stenosis is not significant.", {"L4-L5": "d=bulge"}),
        ("L4-5: Foraminal narrowing, not significant.", {}),
        ("L4-5: Canal stenosis is insignificant.", {}),
        ("L4-5: Canal narrowing is negligible.", {}),
        (
            "L4-5: Small protrusion. Canal stenosis is not significant. Moderate left foraminal "
            "stenosis.",
            {"L4-L5": "d=herniation lf=moderate"},
        ),
        ("L4-5: Canal stenosis - nil.", {}),
        (
            "L4-5: Disc bulge. Stenosis - nil. Foramina - mild bilateral narrowing.",
            {"L4-L5": "d=bulge lf=mild rf=mild"},
        ),
        ("L4-5: Foraminal stenosis nil, canal mild.", {"L4-L5": "c=mild"}),
    ],
)
def test_a_denial_after_the_finding(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a stated grade is not taken back by "not significant"
        ("L4-5: Mild canal narrowing, not significant.", {"L4-L5": "c=mild"}),
        ("L4-5: Moderate left foraminal stenosis, not significant.", {"L4-L5": "lf=moderate"}),
        # the clinical weight of a finding is not its absence
        ("L4-5: Canal stenosis is not clinically significant.", {"L4-L5": "c=unspecified"}),
        # a change that is "not significant" is no denial of the finding
        ("L4-5: Disc bulge, not significantly changed.", {"L4-L5": "d=bulge"}),
        # "nil" before a finding stays the forward negation it was
        ("L4-5: Nil significant canal stenosis. Mild disc bulge.", {"L4-L5": "d=bulge"}),
    ],
)
def test_near_misses_keep_their_finding(lab, text, expected):
    assert found(lab.label(text)) == expected
