"""In a template, "Central:" heads the canal's value as "Central canal:" does (guide: a heading
and its value; canal stenosis is central canal stenosis): "Central: moderate. Foramina: mild
bilateral." gives a moderate canal stenosis. "Central" before a disc word stays the disc's
location."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L4-5: Central: moderate.", {"L4-L5": "c=moderate"}),
    (
        "L4-5: Disc: bulge. Central: moderate. Foramina: mild bilateral.",
        {"L4-L5": "d=bulge c=moderate lf=mild rf=mild"},
    ),
    (
        "L4-5: Central: mild; Foramina: R moderate, L mild.",
        {"L4-L5": "c=mild lf=mild rf=moderate"},
    ),
]

NEAR_MISSES = [
    ("L4-5: Central: none. Foramina: none.", {}),
    ("L4-5: Central: patent.", {}),
    ("L4-5: Disc: central protrusion. Canal: patent.", {"L4-L5": "d=herniation"}),
    ("L4-5: Location: central. Type: protrusion.", {"L4-L5": "d=herniation"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_a_central_heading_is_the_canal(lab, text, want):
    assert found(lab.label(text)) == want
