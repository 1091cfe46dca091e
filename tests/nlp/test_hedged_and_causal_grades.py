"""Two grades that are not the current grade of a stenosis, and one that is.

* A grade offered as a doubtful alternative to a grade stated before it in the sentence ("mild,
  possibly moderate, canal stenosis") is not the grade: the stated one is (guide v1.2: a hedged
  finding is absent, a definite one in the same sentence stays present).
* A grade after "from" is an earlier study's ("improved to mild from moderate"), unless it
  grades the finding word after it and so names a cause ("crowding of the cauda equina from
  moderate canal narrowing").
"""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L4-5: Mild, possibly moderate, canal stenosis.", {"L4-L5": "c=mild"}),
    ("L4-5: Mild canal stenosis, possibly moderate.", {"L4-L5": "c=mild"}),
    ("L4-5: Mild to possibly moderate canal stenosis.", {"L4-L5": "c=mild"}),
    (
        "L4-5: There is at least mild, possibly moderate, spinal canal narrowing.",
        {"L4-L5": "c=mild"},
    ),
    (
        "L4-5: Moderate foraminal narrowing from a bulge, possibly severe on the left.",
        {"L4-L5": "d=bulge lf=moderate rf=moderate"},
    ),
    ("L4-5: Crowding of the cauda equina from moderate canal narrowing.", {"L4-L5": "c=moderate"}),
]

NEAR_MISSES = [
    # a hedged grade with no grade stated before it: the finding is hedged
    ("L4-5: Possibly moderate canal stenosis.", {"L4-L5": "unc"}),
    ("L4-5: Mild bulge, possibly moderate canal stenosis.", {"L4-L5": "d=bulge unc"}),
    # two stated grades: a range takes the higher; "at least" still grades
    ("L4-5: Mild to moderate canal stenosis.", {"L4-L5": "c=moderate"}),
    ("L4-5: At least moderate canal stenosis.", {"L4-L5": "c=moderate"}),
    # "from" before a grade with no finding word after it: an earlier grade
    ("L4-5: Canal stenosis, improved to mild from moderate.", {"L4-L5": "c=mild"}),
    ("L4-5: Canal stenosis has progressed from mild to moderate.", {"L4-L5": "c=moderate"}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_the_stated_current_grade_is_the_grade(lab, text, want):
    assert found(lab.label(text)) == want


# "if not" before the second grade: a doubted higher grade, never a negation of the finding
IF_NOT = [
    ("L4-5: Mild if not moderate canal stenosis.", {"L4-L5": "c=mild"}),
    ("L4-5: Moderate if not severe canal stenosis.", {"L4-L5": "c=moderate"}),
]
IF_NOT_NEAR_MISSES = [
    # (read so before: a comma ends the negation's reach)
    ("L4-5: Mild, if not moderate, canal stenosis.", {"L4-L5": "c=mild"}),
    ("L4-5: Mild canal stenosis, if not moderate.", {"L4-L5": "c=mild"}),
    ("L4-5: Canal stenosis is not seen.", {}),
    ("L4-5: Canal stenosis, if present, is mild.", {"L4-L5": "unc"}),
]


@pytest.mark.parametrize(("text", "want"), IF_NOT + IF_NOT_NEAR_MISSES)
def test_if_not_doubts_the_higher_grade_only(lab, text, want):
    assert found(lab.label(text)) == want
