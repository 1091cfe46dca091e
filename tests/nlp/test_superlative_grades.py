"""A superlative ranks levels, it grades none. Before, "Canal stenosis is most severe at
L4-5 where it is moderate" was severe, and ", where it is severe" after a comma lent its grade
to nothing ("where" was not a word a clause of grades may hold). Near misses keep the rule in
bounds: "at most mild" and "at least moderate" still grade."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Canal stenosis is most severe at L4-5 where it is moderate.", "c=moderate"),
        ("Canal stenosis is most severe at L4-5, where it is moderate.", "c=moderate"),
        ("L4-5: the most severe canal stenosis of the study, moderate.", "c=moderate"),
        ("Foraminal stenosis on the left at L4-5, where it is severe.", "lf=severe"),
        # a ranking alone states the stenosis, not its grade
        ("Canal stenosis is most severe at L4-5.", "c=unspecified"),
        ("Canal stenosis is most marked at L4-5.", "c=unspecified"),
        # near misses
        ("L4-5: at most mild canal stenosis.", "c=mild"),
        ("L4-5: at least moderate canal stenosis.", "c=moderate"),
        ("L4-5: Severe canal stenosis.", "c=severe"),
    ],
)
def test_a_superlative_is_not_a_grade(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


@pytest.mark.parametrize(
    "text",
    [
        "L3-4: No canal stenosis, where there is mild facet arthropathy.",
        "No canal stenosis at L3-4, where the facets are mildly hypertrophic.",
    ],
)
def test_a_where_clause_about_something_else_grades_no_stenosis(lab, text):
    assert found(lab.label(text)) == {}
