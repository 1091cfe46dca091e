"""A whole-spine statement with an exception covers the other levels (guide v1.2: whole-spine
statements; a level-specific statement wins at its level): "Mild disc bulges at all levels
except L1-2" is a bulge at L2-3 to L5-S1, not at L1-2, and a relative clause right after the
exception speaks of it ("..., where it is severe"). A clause that is not relative keeps the
statement's levels."""

import pytest

from tests.nlp.conftest import found

BULGE_BUT_L1 = {lv: "d=bulge" for lv in ("L2-L3", "L3-L4", "L4-L5", "L5-S1")}

CASES = [
    ("Disc bulges at all levels except L1-2.", BULGE_BUT_L1),
    ("Disc bulges at all levels, except at L1-2.", BULGE_BUT_L1),
    ("Mild disc bulging at all lumbar levels apart from L1-2, which is normal.", BULGE_BUT_L1),
    (
        "Mild disc bulges at all lumbar levels except L1-L2 and L2-L3.",
        {lv: "d=bulge" for lv in ("L3-L4", "L4-L5", "L5-S1")},
    ),
    (
        "Mild bulges throughout the lumbar spine except at L5-S1.",
        {lv: "d=bulge" for lv in ("L1-L2", "L2-L3", "L3-L4", "L4-L5")},
    ),
    (
        "There is mild bilateral foraminal narrowing at every lumbar level except L5-S1, where it"
        " is severe on both sides.",
        {
            **{lv: "lf=mild rf=mild" for lv in ("L1-L2", "L2-L3", "L3-L4", "L4-L5")},
            "L5-S1": "lf=severe rf=severe",
        },
    ),
    (
        "The neural foramina are mildly narrowed throughout the lumbar spine, except at L1-2 where"
        " they are widely patent.",
        {lv: "lf=mild rf=mild" for lv in ("L2-L3", "L3-L4", "L4-L5", "L5-S1")},
    ),
    (
        "Mild bulges at all levels except L1-2, causing mild canal stenosis.",
        {lv: "d=bulge c=mild" for lv in ("L2-L3", "L3-L4", "L4-L5", "L5-S1")},
    ),
]

NEAR_MISSES = [
    ("No canal stenosis at any level except L4-5, where it is moderate.", {"L4-L5": "c=moderate"}),
    (
        "Foramina are patent at all levels except L5-S1 where there is moderate left foraminal"
        " stenosis.",
        {"L5-S1": "lf=moderate"},
    ),
    (
        "The discs are normal except at L4-5, which shows a small protrusion.",
        {"L4-L5": "d=herniation"},
    ),
    (
        "Small bulges at L3-4 and L4-5, each level with mild foraminal narrowing.",
        {"L3-L4": "d=bulge lf=mild rf=mild", "L4-L5": "d=bulge lf=mild rf=mild"},
    ),
    ("No stenosis at any level other than L4-5.", {}),
]


@pytest.mark.parametrize(("text", "want"), CASES + NEAR_MISSES)
def test_all_levels_except_one(lab, text, want):
    assert found(lab.label(text)) == want
