"""Fat that is gone narrows its place (guide: effaced or obliterated foraminal fat is foraminal
narrowing): "the normal" fat it lost is no patent place, and "absence of" / "absent" fat denies
no finding. Fat that is there is a patent place, and a denied stenosis stays denied."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L4-5: Effacement of the normal perineural fat in the left foramen.",
        {"L4-L5": "lf=unspecified"},
    ),
    ("L4-5: Loss of the normal perineural fat in the left foramen.", {"L4-L5": "lf=unspecified"}),
    ("L4-5: Loss of normal perineural fat in the left foramen.", {"L4-L5": "lf=unspecified"}),
    ("L4-5: Obliteration of the normal left perineural fat.", {"L4-L5": "lf=unspecified"}),
    (
        "L4-5: Absence of the normal perineural fat in the left foramen.",
        {"L4-L5": "lf=unspecified"},
    ),
    ("L4-5: Absence of left foraminal fat.", {"L4-L5": "lf=unspecified"}),
    ("L4-5: Absent perineural fat in the left foramen.", {"L4-L5": "lf=unspecified"}),
    # the canal's fat is no schema finding, and its absence denies nothing after it
    ("L4-5: Absence of normal epidural fat with moderate canal stenosis.", {"L4-L5": "c=moderate"}),
]

NEAR_MISSES = [
    ("L4-5: Loss of the perineural fat in the left foramen.", {"L4-L5": "lf=unspecified"}),
    ("L4-5: Normal perineural fat in the foramina.", {}),
    ("L4-5: Perineural fat is preserved.", {}),
    ("L4-5: The foramina are of normal caliber.", {}),
    ("L4-5: Canal of normal size.", {}),
    ("L4-5: Absence of normal epidural fat.", {}),
    ("L4-5: Absence of stenosis.", {}),
    ("L4-5: Canal stenosis absent.", {}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_fat_that_is_gone_narrows_its_place(lab, text, want):
    assert found(lab.label(text)) == want
