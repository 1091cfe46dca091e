"""Template values: a heading, a colon and its value ("Canal stenosis: none."), and a side
named after its value ("mild left, none right", "none on the right"). Before, the colon ended
the backward scope of "none", so "Canal stenosis: none." was read as stenosis of no stated
grade; "none right" denied the left side's grade and affirmed the right's stenosis; a place
given "none" or "patent" on one side lost the other side's grade. Near misses keep the rules
in bounds."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: Canal stenosis: none.",
        "L4-5: Central canal stenosis: None",
        "L4-5: Spinal canal stenosis: absent.",
        "L4-5: Canal stenosis: no.",
        "L4-5: Canal stenosis: negative.",
        "L4-5: Canal stenosis: not seen.",
        "L4-5: Herniation: none.",
        "L4-5: Foraminal stenosis: none.",
        "L4-5: Foraminal stenosis: none bilaterally.",
        "L4-5: Foraminal stenosis none bilaterally.",
        "L4-5: Foraminal stenosis: none on both sides.",
    ],
)
def test_a_heading_whose_value_is_none_states_nothing(lab, text):
    assert found(lab.label(text)) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: Canal stenosis: none. Foraminal stenosis: mild.", "lf=mild rf=mild"),
        ("L4-5: Central stenosis: none; foraminal stenosis: mild bilateral.", "lf=mild rf=mild"),
        ("L4-5: Herniation: none. Bulge: yes.", "d=bulge"),
        ("L4-5: Canal stenosis: moderate.", "c=moderate"),
    ],
)
def test_the_next_heading_keeps_its_own_value(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Central canal stenosis: L3-4 none, L4-5 severe, L5-S1 mild.",
            {"L4-L5": "c=severe", "L5-S1": "c=mild"},
        ),
        (
            "Foraminal stenosis: L4/5 none, L5/S1 mild bilateral.",
            {"L5-S1": "lf=mild rf=mild"},
        ),
        ("Canal stenosis: L4-5 none.", {}),
        # a level with its own value is not the level of the clause before or after it
        (
            "L4-5: moderate stenosis; L5-S1: none; L3-4: mild stenosis.",
            {"L3-L4": "c=mild", "L4-L5": "c=moderate"},
        ),
        ("L4-5: moderate stenosis; L5-S1: none", {"L4-L5": "c=moderate"}),
        ("Stenosis: L4-5 moderate; L5-S1 none.", {"L4-L5": "c=moderate"}),
        (
            "Stenosis: L4-5 moderate, L5-S1 normal, L3-4 mild.",
            {"L3-L4": "c=mild", "L4-L5": "c=moderate"},
        ),
        # a level with no value of its own still shares the finding
        (
            "Moderate stenosis at L4-5, and also at L5-S1.",
            {"L4-L5": "c=moderate", "L5-S1": "c=moderate"},
        ),
    ],
)
def test_a_heading_with_a_value_per_level(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: Foraminal stenosis: mild left, none right.", "lf=mild"),
        ("L4-5: Foramina: mild left, none right.", "lf=mild"),
        ("L4-5: Foraminal stenosis mild on the left, none on the right.", "lf=mild"),
        ("L4-5: Foraminal stenosis: mild on the left and none on the right.", "lf=mild"),
        ("L4-5: Foraminal stenosis: none on the left, moderate on the right.", "rf=moderate"),
        ("L4-5: Foraminal stenosis: none on the right side, mild on the left side.", "lf=mild"),
        ("L4-5: No foraminal stenosis on the right, mild on the left.", "lf=mild"),
        ("L4-5: No foraminal narrowing on the left; moderate on the right.", "rf=moderate"),
        ("L4-5: Foramina: left none, right mild.", "rf=mild"),
        ("L4-5: Neural foramina: right none, left moderate.", "lf=moderate"),
        ("L4-5: Foramina: left patent, right mild.", "rf=mild"),
        ("L4-5: Foramina: left normal, right moderate.", "rf=moderate"),
    ],
)
def test_a_side_named_after_its_value_takes_it(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a colon before a negated noun phrase: "no" is its forward negation, as before
        (
            "L4-5: Canal: no stenosis. Foramina: mild stenosis bilaterally.",
            {"L4-L5": "lf=mild rf=mild"},
        ),
        ("Impression: no canal stenosis at L4-5.", {}),
        ("L4-5: Disc: no herniation. Canal stenosis: mild.", {"L4-L5": "c=mild"}),
        # a side named before "none" is still the side it grades ("L mild / R none")
        ("L4-5: Foramina: L mild / R none.", {"L4-L5": "lf=mild"}),
        ("L4-5: Neural foramina: left mild, right none.", {"L4-L5": "lf=mild"}),
        # the negation reaches the graded finding after it when nothing breaks the list
        ("L4-5: No foraminal stenosis on the right or on the left.", {}),
        # a place with "patent" on both sides has no stenosis
        ("L4-5: Foramina: left patent, right patent.", {}),
    ],
)
def test_near_misses(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a bare side letter before its own value, with or without a comma
        ("L4-5: NF: R none, L mild.", "lf=mild"),
        ("L4-5: NF: R patent, L mild.", "lf=mild"),
        ("L4-5: NF: L normal, R severe.", "rf=severe"),
        ("L4-5: Foraminal stenosis: L, moderate; R, none.", "lf=moderate"),
        # a side and "none" with no comma before the other side's grade
        ("L4-5: Foraminal stenosis left none right mild.", "rf=mild"),
        ("L4-5: Foraminal stenosis: left mild right none.", "lf=mild"),
        ("L4-5: NFS L none R mild.", "rf=mild"),
        ("L4-5: NFS L mild R none.", "lf=mild"),
        ("L4-5: Foramina: left patent right moderate.", "rf=moderate"),
        ("L4-5: Foramina: right severe left patent.", "rf=severe"),
        # near misses: two graded sides, and a side list shared by a later place
        ("L4-5: Foraminal stenosis: right mild left moderate.", "lf=moderate rf=mild"),
        ("L4-5: NFS L mild R mild | LRS L moderate.", "lf=mild rf=mild ls=moderate"),
    ],
)
def test_a_side_with_its_own_value_keeps_it_without_a_comma(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}
