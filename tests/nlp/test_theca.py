"""The theca is the thecal sac (UK wording; guide: a disc that indents or compresses the thecal
sac is canal stenosis, one that abuts it is not)."""

import pytest

from tests.nlp.conftest import found

CASES = [
    (
        "L4/5: A central disc protrusion produces indentation of the theca. The lateral recesses and"
        " exit foramina are clear.",
        {"L4-L5": "d=herniation c=unspecified"},
    ),
    ("L4/5: Moderate compression of the theca.", {"L4-L5": "c=moderate"}),
]

NEAR_MISSES = [
    ("L4/5: The protrusion abuts the theca.", {"L4-L5": "d=herniation"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_the_theca_is_the_thecal_sac(lab, text, want):
    assert found(lab.label(text)) == want
