"""A level described as another: "L4-5: Same as above, with mild foraminal narrowing",
"Similar findings at L5-S1", "similar to L3-4". Before, such a level took nothing from the
other level (or, with "similar to L3-4", gave its own findings to L3-4). Near misses: a
comparison with an earlier study, and words of likeness about something else."""

import pytest

from tests.nlp.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "L3-L4: Mild bulge. No stenosis.\nL4-L5: Same as above, with mild bilateral "
            "foraminal narrowing.\nL5-S1: Normal disc.",
            {"L3-L4": "d=bulge", "L4-L5": "d=bulge lf=mild rf=mild"},
        ),
        (
            "L3-4: Broad disc bulge with moderate canal stenosis. L4-5: Similar findings.",
            {"L3-L4": "d=bulge c=moderate", "L4-L5": "d=bulge c=moderate"},
        ),
        (
            "L3-4: Left paracentral protrusion. Similar findings are seen at L4-5.",
            {"L3-L4": "d=herniation", "L4-L5": "d=herniation"},
        ),
        ("L3-4: Moderate stenosis. L4-5: Same.", {"L3-L4": "c=moderate", "L4-L5": "c=moderate"}),
        # the level named after the phrase is the one copied, and takes nothing itself
        (
            "L3-4: Mild bulge. L4-5: Normal. L5-S1: Similar to L3-4, with mild right "
            "foraminal narrowing.",
            {"L3-L4": "d=bulge", "L5-S1": "d=bulge rf=mild"},
        ),
        # what the level states itself wins over what it takes
        (
            "L3-4: Mild bulge with moderate canal stenosis. L4-5: Same as above, but with a "
            "small central protrusion and mild canal stenosis.",
            {"L3-L4": "d=bulge c=moderate", "L4-L5": "d=herniation c=mild"},
        ),
        # "the same at" a level: that level takes the level named last before (it took nothing)
        (
            "L4-5: Moderate canal stenosis. Same at L5-S1.",
            {"L4-L5": "c=moderate", "L5-S1": "c=moderate"},
        ),
        (
            "Moderate canal stenosis at L4-5. Similar at L5-S1.",
            {"L4-L5": "c=moderate", "L5-S1": "c=moderate"},
        ),
        (
            "L4-5: Mild disc bulge, mild canal stenosis. Same in L5-S1 but with severe left "
            "foraminal narrowing.",
            {"L4-L5": "d=bulge c=mild", "L5-S1": "d=bulge c=mild lf=severe"},
        ),
    ],
)
def test_a_level_described_as_another_takes_its_findings(lab, text, expected):
    assert found(lab.label(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # another study, not another level
        (
            "L3-4: Moderate canal stenosis. L4-5: Disc bulge, similar in size to the prior study.",
            {"L3-L4": "c=moderate", "L4-L5": "d=bulge"},
        ),
        ("L3-4: Mild bulge. L4-5: Same as prior.", {"L3-L4": "d=bulge"}),
        # a negated or hedged finding is not taken
        (
            "L3-4: No stenosis. Possible small protrusion. L4-5: Same as above.",
            {"L3-L4": "unc"},
        ),
        ("The signal is similar to CSF at L4-5.", {}),
        # a side of its own: the other level's sided findings are not this side's
        (
            "L3-4: Right paracentral protrusion contacting the right L4 root. L4-5: Similar "
            "appearance on the left.",
            {"L3-L4": "d=herniation rs=unspecified", "L4-L5": "d=herniation"},
        ),
    ],
)
def test_other_likeness_takes_nothing(lab, text, expected):
    assert found(lab.label(text)) == expected
