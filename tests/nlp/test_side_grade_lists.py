"""A place named once, then a grade per side ("NF: L mild, R mod", "Foramina: mild left,
moderate right", "Foraminal stenosis: L mild / R moderate"): each side takes its own grade at
that place. Before, the second side was lost when the place was named without a stenosis word,
and a list with no comma gave both sides the higher grade. Near misses keep the rules in
bounds."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: NF: L mild, R mod.", "lf=mild rf=moderate"),
        ("L4-5: NF: L mod, R mild.", "lf=moderate rf=mild"),
        ("L4-5: Foramina: mild left, moderate right.", "lf=mild rf=moderate"),
        ("L4-5: Foramina: left mild, right severe.", "lf=mild rf=severe"),
        ("L4-5: Neural foramina: mild on the left, moderate on the right.", "lf=mild rf=moderate"),
        ("L4-5: Neural foramina: right mild; left moderate.", "lf=moderate rf=mild"),
        ("L4-5: Lateral recesses: L mild, R moderate.", "ls=mild rs=moderate"),
        # (with a stenosis word the second side already took the place: unchanged)
        ("L4-5: Foraminal narrowing: left mild, right moderate.", "lf=mild rf=moderate"),
        # lists with no comma
        ("L4-5: Foraminal stenosis: L mild / R moderate.", "lf=mild rf=moderate"),
        ("L4-5: NF L mild R mod.", "lf=mild rf=moderate"),
        ("L4-5: Foraminal narrowing: mild L / moderate R.", "lf=mild rf=moderate"),
        ("L4-5: Subarticular: L moderate / R mild.", "ls=moderate rs=mild"),
        ("L4-5: NFS L mild R mild", "lf=mild rf=mild"),
    ],
)
def test_each_side_takes_its_grade_at_the_place_named_once(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


def test_the_other_levels_stay_clear(lab):
    r = lab.label("L4-5: NF: L mild, R mod.\nL5-S1: Normal.")
    assert found(r) == {"L4-L5": "lf=mild rf=moderate"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the grade of another finding is no stenosis of the place
        ("L4-5: NF: L mild, R mod facet hypertrophy.", {"L4-L5": "lf=mild"}),
        # a new sentence is a new statement
        ("L4-5: Foramina: mild left. Moderate right facet arthropathy.", {"L4-L5": "lf=mild"}),
        # a place with no side of its own spreads its grade to both sides ("NF: mild B/L")
        ("L4-5: NF: mild bilaterally.", {"L4-L5": "lf=mild rf=mild"}),
        # a disc with a side and a grade is no place
        ("L4-5: Disc bulge, left mild, right moderate.", {"L4-L5": "d=bulge"}),
    ],
)
def test_near_misses(lab, text, expected):
    assert found(lab.label(text)) == expected


def test_each_place_of_a_table_row_keeps_its_side_list(lab):
    r = lab.label("L4-5: disc bulge | CCS moderate | NFS L mild R none | LRS L moderate R mild")
    levels = r.by_level()["L4-L5"]
    assert (levels.left_subarticular, levels.right_subarticular) == ("moderate", "mild")
    assert levels.canal_stenosis == "moderate"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # one side named twice is no list of sides
        ("L4-5: Foraminal stenosis: L mild / L moderate.", {"L4-L5": "lf=moderate"}),
    ],
)
def test_side_list_near_misses(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: Foramina: L mild / R none.", {"L4-L5": "lf=mild"}),
        ("L4-5: Foramina: left mild, right none.", {"L4-L5": "lf=mild"}),
        ("L4-5: Foramina: R mild / L none.", {"L4-L5": "rf=mild"}),
        ("L4-5: Mild left foraminal stenosis, right none.", {"L4-L5": "lf=mild"}),
        ("L4-5: NFS L mild R none", {"L4-L5": "lf=mild"}),
    ],
)
def test_none_after_the_other_side_is_that_sides_grade(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        # a finding that names no side of its own is still denied
        "L4-5: NFS L none R none",
        "L4-5: Foramina: L none / R none.",
        "L4-5: No foraminal stenosis.",
    ],
)
def test_none_still_denies_what_it_follows(lab, text):
    assert found(lab.label(text)) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a side letter given a range is that side's (the letter was lost before)
        ("L4-5: Foraminal stenosis: R mild, L mild-moderate.", "lf=moderate rf=mild"),
        ("L4-5: Foraminal stenosis: R mild, L moderate to severe.", "lf=severe rf=mild"),
        ("L4-5: NF: R none, L mild \u2013 moderate.", "lf=moderate"),
        ("L4-5: Lateral recesses: L mild, R moderate-severe.", "ls=mild rs=severe"),
    ],
)
def test_a_side_letter_with_a_range_takes_it(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}
