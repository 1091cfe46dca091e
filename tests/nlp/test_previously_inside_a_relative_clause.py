"""A time word inside a finding is the verb's, past the commas of a relative clause (guide:
previous findings are not current): "The left lateral recess, which was previously effaced, is
now patent" states no recess narrowing now. A grade of the earlier study after a comma leaves
the current grade."""

import pytest

from tests.nlp.conftest import found

CASES = [
    ("L4-5: The left lateral recess, which was previously effaced, is now patent.", {}),
    ("L4-5: The left lateral recess, previously effaced, is now patent.", {}),
]

NEAR_MISSES = [
    ("L4-5: Moderate left foraminal narrowing, previously mild.", {"L4-L5": "lf=moderate"}),
    (
        "L4-5: The left lateral recess is narrowed, as it was previously.",
        {"L4-L5": "ls=unspecified"},
    ),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_previously_inside_a_relative_clause(lab, text, want):
    assert found(lab.label(text)) == want
