"""Finding rules: disc, canal, foramina, subarticular, roots, grades, sides."""

import pytest

from tests.nlp.conftest import level


def L45(lab, text):
    return level(lab.label("L4-5: " + text), "L4-L5")


@pytest.mark.parametrize(
    "term,value",
    [
        ("annular bulge", "bulge"),
        ("circumferential bulge", "bulge"),
        ("disc-osteophyte complex", "bulge"),
        ("HNP", "herniation"),
        ("disc prolapse", "herniation"),
        ("extrusion", "herniation"),
        ("sequestered fragment", "herniation"),
        ("free fragment", "herniation"),
        ("annular fissure", "none"),
        ("disc desiccation", "none"),
        ("loss of disc height", "none"),
        ("Modic type 1 change", "none"),
        ("facet arthropathy", "none"),
    ],
)
def test_disc_vocabulary(lab, term, value):
    assert L45(lab, f"There is {term}.").disc == value


def test_bulge_and_herniation_is_herniation(lab):
    assert L45(lab, "Bulge with a superimposed right paracentral protrusion.").disc == "herniation"


def test_pseudobulge_with_listhesis(lab):
    assert L45(lab, "Grade 1 anterolisthesis with pseudo-bulge of the disc.").disc == "bulge"


@pytest.mark.parametrize("verb", ["compresses", "indents", "effaces", "deforms", "impinges on"])
def test_thecal_sac_mass_effect_is_stenosis(lab, verb):
    r = L45(lab, f"Disc bulge {verb} the thecal sac.")
    assert r.canal_stenosis == "unspecified"


@pytest.mark.parametrize("verb", ["abuts", "contacts"])
def test_abut_contact_thecal_sac_is_not_stenosis(lab, verb):
    assert L45(lab, f"Disc bulge {verb} the thecal sac.").canal_stenosis == "none"


def test_graded_effacement(lab):
    assert (
        L45(lab, "Disc bulge with moderate effacement of the thecal sac.").canal_stenosis
        == "moderate"
    )


def test_negation_beats_effacement(lab):
    r = L45(lab, "Bulge with mild effacement of the thecal sac. No central canal narrowing.")
    assert r.canal_stenosis == "none"


def test_lateral_recess_is_not_canal(lab):
    r = L45(lab, "Moderate left lateral recess narrowing.")
    assert (r.canal_stenosis, r.left_subarticular, r.right_subarticular) == (
        "none",
        "moderate",
        "none",
    )


@pytest.mark.parametrize(
    "grade_text,grade",
    [
        ("minimal", "mild"),
        ("slight", "mild"),
        ("borderline", "mild"),
        ("mild to moderate", "moderate"),
        ("moderate in degree", "moderate"),
        ("moderate to severe", "severe"),
        ("marked", "severe"),
        ("high-grade", "severe"),
        ("critical", "severe"),
        ("mild-to-moderate", "moderate"),
    ],
)
def test_grades(lab, grade_text, grade):
    assert L45(lab, f"{grade_text} central canal stenosis.").canal_stenosis == grade


def test_no_side_foramina_are_both(lab):
    r = L45(lab, "Mild foraminal narrowing.")
    assert (r.left_foraminal, r.right_foraminal) == ("mild", "mild")


def test_bilateral_and_sides(lab):
    r = L45(lab, "Moderate right and mild left neural foraminal stenosis.")
    assert (r.left_foraminal, r.right_foraminal) == ("mild", "moderate")
    r = L45(lab, "Foraminal narrowing is severe on the left and mild on the right.")
    assert (r.left_foraminal, r.right_foraminal) == ("severe", "mild")


def test_foramina_patent(lab):
    r = L45(lab, "Disc bulge. The neural foramina are patent.")
    assert (r.left_foraminal, r.right_foraminal) == ("none", "none")


def test_foraminal_protrusion_alone_is_not_stenosis(lab):
    r = L45(lab, "Small left foraminal disc protrusion.")
    assert (r.disc, r.left_foraminal) == ("herniation", "none")


def test_exiting_root_is_foraminal(lab):
    r = L45(lab, "Left foraminal protrusion contacts the exiting left L4 nerve root.")
    assert (r.left_foraminal, r.left_subarticular) == ("unspecified", "none")


@pytest.mark.parametrize("qual", ["traversing", "descending"])
def test_traversing_root_is_subarticular(lab, qual):
    r = L45(lab, f"Right paracentral extrusion compresses the {qual} right L5 nerve root.")
    assert (r.right_subarticular, r.right_foraminal) == ("unspecified", "none")


def test_root_number_decides_exiting_or_traversing(lab):
    r = L45(lab, "Protrusion abuts the left L5 nerve root.")
    assert r.left_subarticular == "unspecified"
    r = L45(lab, "Protrusion abuts the left L4 nerve root.")
    assert r.left_foraminal == "unspecified"
