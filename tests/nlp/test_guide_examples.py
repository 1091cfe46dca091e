"""The guide's worked examples, notations, ranges, lists and globals."""

import pytest

from tests.nlp.conftest import level

WORKED = [
    (
        "L1-L2: There is a 1-mm midline disc bulge. There is no central canal narrowing.",
        "L1-L2",
        "bulge",
        "none",
        "none",
        "none",
        1,
        False,
    ),
    (
        "L3-L4: moderate central canal narrowing. 2-mm right foraminal disc protrusion with abutment of the "
        "exiting right L3 nerve root and mild narrowing of the right neural foramen.",
        "L3-L4",
        "herniation",
        "moderate",
        "none",
        "mild",
        3,
        False,
    ),
    (
        "L4-L5: Broad-based posterior disc herniation indenting the thecal sac and causing mild narrowing "
        "of bilateral neural foramina.",
        "L4-L5",
        "herniation",
        "unspecified",
        "mild",
        "mild",
        3,
        False,
    ),
    (
        "L5-S1: 1-mm midline disc bulge with mild effacement of the anterior thecal sac. No central canal "
        "narrowing.",
        "L5-S1",
        "bulge",
        "none",
        "none",
        "none",
        1,
        False,
    ),
    (
        "L2-3: Facet arthropathy and ligamentum flavum thickening cause mild spinal canal stenosis.",
        "L2-L3",
        "none",
        "mild",
        "none",
        "none",
        2,
        False,
    ),
    (
        "L4-5: Possible small left paracentral protrusion.",
        "L4-L5",
        "none",
        "none",
        "none",
        "none",
        0,
        True,
    ),
]


@pytest.mark.parametrize("text,lvl,disc,canal,lf,rf,cc,unc", WORKED)
def test_worked_examples(lab, text, lvl, disc, canal, lf, rf, cc, unc):
    r = level(lab.label(text), lvl)
    assert (
        r.disc,
        r.canal_stenosis,
        r.left_foraminal,
        r.right_foraminal,
        r.canal_class,
        r.uncertain,
    ) == (disc, canal, lf, rf, cc, unc)


NOTATIONS = [
    "L4-L5",
    "L4-5",
    "L4/5",
    "L4/L5",
    "L4–L5",
    "L4 - L5",
    "L4L5",
    "the L4-L5 level",
    "the L4-5 disc",
    "at L4-5",
]


@pytest.mark.parametrize("notation", NOTATIONS)
def test_notations_mean_l4_l5(lab, notation):
    r = lab.label(f"Mild disc bulge {notation}. ")
    got = {lv.level: lv.disc for lv in r.levels}
    assert got == {
        "L1-L2": "none",
        "L2-L3": "none",
        "L3-L4": "none",
        "L4-L5": "bulge",
        "L5-S1": "none",
    }


@pytest.mark.parametrize(
    "notation", ["L5-S1", "L5/S1", "the lumbosacral level", "the lumbosacral junction"]
)
def test_notations_l5_s1(lab, notation):
    r = lab.label(f"Small central protrusion at {notation}.")
    assert level(r, "L5-S1").disc == "herniation"
    assert all(lv.disc == "none" for lv in r.levels[:4])


@pytest.mark.parametrize(
    "text",
    ["T12-L1: large disc herniation.", "S1-S2: disc bulge.", "Transitional L5-6 disc herniation."],
)
def test_out_of_schema_levels_ignored(lab, text):
    r = lab.label(text)
    assert all(lv.disc == "none" for lv in r.levels)


def test_decimal_is_not_a_level(lab):
    r = lab.label("L4.5 mm disc bulge measured 1.2 cm. L3-4: normal.")
    assert all(lv.disc == "none" for lv in r.levels)


@pytest.mark.parametrize(
    "text", ["Mild disc bulges from L1-L2 through L3-L4.", "Mild disc bulges L1-2 to L3-4."]
)
def test_ranges(lab, text):
    r = lab.label(text)
    assert [lv.disc for lv in r.levels] == ["bulge", "bulge", "bulge", "none", "none"]


@pytest.mark.parametrize(
    "text", ["Mild disc bulges at L3-4 and L4-5.", "Mild disc bulges at L3-4, L4-5 and L5-S1."]
)
def test_lists(lab, text):
    r = lab.label(text)
    n = 3 if "L5-S1" in text else 2
    assert [lv.disc for lv in r.levels] == ["none", "none"] + ["bulge"] * n + ["none"] * (3 - n)


def test_range_statement_loses_to_level_specific(lab):
    r = lab.label(
        "L1-L2 through L3-L4 are unremarkable. L2-3: small disc bulge with mild canal stenosis."
    )
    assert level(r, "L2-L3").disc == "bulge" and level(r, "L2-L3").canal_stenosis == "mild"
    assert level(r, "L1-L2").disc == "none"


def test_global_remaining_levels(lab):
    r = lab.label("L4-5: disc bulge. Mild bilateral foraminal narrowing at the remaining levels.")
    assert level(r, "L4-L5").left_foraminal == "none"
    assert level(r, "L2-L3").left_foraminal == "mild"


def test_global_any_level_negation_loses_to_specific(lab):
    r = lab.label("No central canal stenosis at any level. L4-5: moderate central canal stenosis.")
    assert level(r, "L4-L5").canal_stenosis == "moderate"
    assert level(r, "L3-L4").canal_stenosis == "none"


def test_global_all_levels_affirmation(lab):
    r = lab.label("Mild disc bulges at all levels.")
    assert all(lv.disc == "bulge" for lv in r.levels)


def test_elsewhere(lab):
    r = lab.label("L5-S1: left paracentral extrusion. No significant stenosis elsewhere.")
    assert level(r, "L5-S1").disc == "herniation"


def test_never_mentioned_is_none(lab):
    r = lab.label("L4-5: severe canal stenosis.")
    for lv in r.levels:
        if lv.level != "L4-L5":
            assert lv.to_exchange() == type(lv)(level=lv.level).to_exchange()
