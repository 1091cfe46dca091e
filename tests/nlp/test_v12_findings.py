"""Guide v1.2 finding rules: anterior bulges, location words, grades, non-disc causes of
canal stenosis, foraminal fat, exiting / traversing roots and the side of a root contact."""

import pytest

from tests.nlp.conftest import LABEL_FIELDS, at, row


def foramina(lab, text, name="L4-L5"):
    r = at(lab, text, name)
    return r.left_foraminal, r.right_foraminal


def recesses(lab, text, name="L4-L5"):
    r = at(lab, text, name)
    return r.left_subarticular, r.right_subarticular


# --------------------------------------------------------------------------
# 1. Anterior bulges


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: Small anterior disc bulge only.",
        "L4-5: Anterior osteophytes and anterior bulging.",
        "L4-5: Anterolateral disc bulge.",
        "L4-5: Left anterolateral disc protrusion.",
        "L4-5: Mild anterior and anterolateral disc bulging.",
        "L4-5: The disc bulges anteriorly.",
        "L4-5: Broad-based anterior disc bulge; no posterior bulge.",
    ],
)
def test_anterior_only_disc_is_none(lab, text):
    assert at(lab, text).disc == "none"


def test_anterior_bulge_worked_example(lab):
    assert row(lab, "L3-4: Small anterior disc bulge only.", "L3-L4") == ("none",) * 6
    assert at(lab, "L3-4: Small anterior disc bulge only.", "L3-L4").canal_class == 0


@pytest.mark.parametrize(
    "text,disc",
    [
        ("L4-5: Anterior and posterior disc bulge.", "bulge"),
        ("L4-5: Minimal anterior and posterior disc bulging.", "bulge"),
        ("L4-5: The disc bulges anteriorly and posteriorly.", "bulge"),
        ("L4-5: Circumferential disc bulge.", "bulge"),
        ("L4-5: Anterior disc bulge and a small posterior protrusion.", "herniation"),
        ("L4-5: Disc bulge and anterior osteophytes.", "bulge"),
        ("L4-5: Small posterior disc bulge.", "bulge"),
    ],
)
def test_bulge_not_only_anterior_stays(lab, text, disc):
    assert at(lab, text).disc == disc


@pytest.mark.parametrize(
    "text,canal",
    [
        ("L4-5: Disc bulge with mild effacement of the anterior thecal sac.", "mild"),
        ("L4-5: Disc bulge indenting the anterior thecal sac.", "unspecified"),
        ("L4-5: Mild anterior thecal sac effacement by a disc bulge.", "mild"),
    ],
)
def test_anterior_thecal_sac_is_not_an_anterior_bulge(lab, text, canal):
    r = at(lab, text)
    assert (r.disc, r.canal_stenosis) == ("bulge", canal)


def test_anterior_bulge_keeps_other_findings(lab):
    assert row(lab, "L4-5: Anterior disc bulge. Mild foraminal narrowing.") == (
        "none",
        "none",
        "mild",
        "mild",
        "none",
        "none",
    )


# --------------------------------------------------------------------------
# 2. Location words


@pytest.mark.parametrize(
    "text,disc",
    [
        ("L4-5: Left foraminal disc bulge.", "bulge"),
        ("L4-5: Far lateral disc protrusion on the right.", "herniation"),
        ("L4-5: Right extraforaminal protrusion.", "herniation"),
        ("L4-5: Disc bulge extends into the left foramen.", "bulge"),
        ("L4-5: Disc bulge extending into both neural foramina.", "bulge"),
        ("L4-5: Disc bulge with bilateral foraminal extension.", "bulge"),
        ("L4-5: Right foraminal protrusion.", "herniation"),
    ],
)
def test_location_word_sets_disc_only(lab, text, disc):
    assert row(lab, text) == (disc, "none", "none", "none", "none", "none")


@pytest.mark.parametrize(
    "text,left,right",
    [
        ("L4-5: Right foraminal protrusion narrows the right foramen.", "none", "unspecified"),
        (
            "L4-5: Right foraminal protrusion contacts the exiting L4 nerve root.",
            "none",
            "unspecified",
        ),
        (
            "L4-5: Small right foraminal protrusion with mild right foraminal narrowing.",
            "none",
            "mild",
        ),
        (
            "L4-5: Disc bulge extending into the foramina with mild foraminal narrowing.",
            "mild",
            "mild",
        ),
    ],
)
def test_foraminal_disc_with_narrowing_or_root_contact(lab, text, left, right):
    assert foramina(lab, text) == (left, right)


# --------------------------------------------------------------------------
# 3. Grades


@pytest.mark.parametrize(
    "grade_text,grade",
    [
        ("Mild - moderate", "moderate"),
        ("Mild — moderate", "moderate"),
        ("Mild – moderate", "moderate"),
        ("Mild/moderate", "moderate"),
        ("Mild-to-moderate", "moderate"),
        ("Mild-moderate", "moderate"),
        ("Moderate-severe", "severe"),
        ("Moderate / severe", "severe"),
        ("Minimal-mild", "mild"),
        ("Minor", "mild"),
        ("Small", "mild"),
        ("Subtle", "mild"),
        ("Trace", "mild"),
        ("Significant", "unspecified"),
        ("Relative", "unspecified"),
        ("Some", "unspecified"),
        ("Notable", "unspecified"),
    ],
)
def test_grade_words(lab, grade_text, grade):
    assert at(lab, f"L4-5: {grade_text} central canal stenosis.").canal_stenosis == grade


@pytest.mark.parametrize(
    "text,grade",
    [
        ("L4-5: A small amount of foraminal narrowing.", "mild"),
        ("L4-5: Small degree of left foraminal stenosis.", "mild"),
        ("L4-5: Minor narrowing of the foramina.", "mild"),
        ("L4-5: Trace bilateral foraminal narrowing.", "mild"),
    ],
)
def test_weak_grade_of_a_stenosis_is_mild(lab, text, grade):
    r = at(lab, text)
    assert grade in (r.left_foraminal, r.right_foraminal)


@pytest.mark.parametrize(
    "text,canal",
    [
        ("L4-5: Small protrusion causing moderate canal stenosis.", "moderate"),
        ("L4-5: Small protrusion with canal stenosis.", "unspecified"),
        ("L4-5: Small central protrusion narrows the canal.", "unspecified"),
        ("L4-5: Small disc bulge and canal stenosis.", "unspecified"),
        ("L4-5: Subtle bulge with spinal canal stenosis.", "unspecified"),
        ("L4-5: Small disc bulge with mild canal stenosis.", "mild"),
    ],
)
def test_small_of_a_disc_is_not_a_stenosis_grade(lab, text, canal):
    assert at(lab, text).canal_stenosis == canal


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: Trace retrolisthesis with foraminal narrowing.",
        "L4-5: Small osteophytes with foraminal narrowing.",
        "L4-5: Minor facet arthropathy with foraminal narrowing.",
    ],
)
def test_weak_grade_of_another_finding_is_not_a_stenosis_grade(lab, text):
    assert foramina(lab, text) == ("unspecified", "unspecified")


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: No significant stenosis.",
        "L4-5: No significant canal or foraminal stenosis.",
        "L4-5: Disc bulge without significant stenosis.",
        "L4-5: There is no significant central canal or neural foraminal narrowing.",
    ],
)
def test_no_significant_stenosis_is_none(lab, text):
    assert row(lab, text)[1:] == ("none",) * 5


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: Moderate foraminal narrowing, greater on the right.",
        "L4-5: Moderate bilateral foraminal stenosis, right greater than left.",
        "L4-5: Moderate bilateral foraminal narrowing, worse on the right.",
    ],
)
def test_greater_on_one_side_gives_both_the_grade(lab, text):
    assert foramina(lab, text) == ("moderate", "moderate")


@pytest.mark.parametrize(
    "text,left,right",
    [
        (
            "L4-5: Foraminal narrowing in both foramina, severe on the left.",
            "severe",
            "unspecified",
        ),
        ("L4-5: Narrowing in both foramina, severe on the left.", "severe", "unspecified"),
        ("L4-5: Bilateral foraminal narrowing, moderate on the right.", "unspecified", "moderate"),
        ("L4-5: Mild foraminal narrowing in both foramina, severe on the left.", "severe", "mild"),
    ],
)
def test_both_foramina_graded_on_one_side(lab, text, left, right):
    assert foramina(lab, text) == (left, right)


@pytest.mark.parametrize(
    "text,canal",
    [
        ("L4-5: Mild canal stenosis. Moderate canal stenosis.", "moderate"),
        ("L4-5: Canal stenosis. Mild canal stenosis.", "mild"),
        ("L4-5: Mild canal stenosis. The disc bulge effaces the thecal sac.", "mild"),
    ],
)
def test_several_statements_take_the_highest_grade(lab, text, canal):
    assert at(lab, text).canal_stenosis == canal


# --------------------------------------------------------------------------
# 4. Causes of canal stenosis other than the disc


@pytest.mark.parametrize(
    "text,canal",
    [
        ("L5-S1: Epidural lipomatosis narrows the thecal sac.", "unspecified"),
        ("L4-5: Left facet synovial cyst compresses the thecal sac.", "unspecified"),
        ("L4-5: A synovial cyst effaces the left lateral aspect of the thecal sac.", "unspecified"),
        ("L4-5: Ligamentum flavum hypertrophy narrows the canal.", "unspecified"),
        ("L4-5: Ligamentum flavum buckling effaces the dorsal thecal sac.", "unspecified"),
        (
            "L4-5: Ligamentum flavum thickening results in mild effacement of the thecal sac.",
            "mild",
        ),
        ("L4-5: Grade 1 anterolisthesis compresses the thecal sac.", "unspecified"),
        ("L4-5: Grade 2 spondylolisthesis collapses the thecal sac.", "unspecified"),
        ("L4-5: Grade 2 spondylolisthesis with collapse of the thecal sac.", "unspecified"),
        ("L4-5: The thecal sac is compressed by epidural lipomatosis.", "unspecified"),
        ("L4-5: Disc bulge flattens the thecal sac.", "unspecified"),
        ("L4-5: Left facet synovial cyst causing severe canal stenosis.", "severe"),
    ],
)
def test_non_disc_causes_of_canal_stenosis(lab, text, canal):
    name = "L5-S1" if text.startswith("L5") else "L4-L5"
    assert at(lab, text, name).canal_stenosis == canal


def test_lipomatosis_worked_example(lab):
    r = at(lab, "L5-S1: Epidural lipomatosis narrows the thecal sac.", "L5-S1")
    assert row(lab, "L5-S1: Epidural lipomatosis narrows the thecal sac.", "L5-S1") == (
        "none",
        "unspecified",
        "none",
        "none",
        "none",
        "none",
    )
    assert r.canal_class == 2


def test_ligamentum_flavum_worked_example(lab):
    text = (
        "L2-3: Facet arthropathy and ligamentum flavum thickening cause mild spinal canal stenosis."
    )
    assert row(lab, text, "L2-L3") == ("none", "mild", "none", "none", "none", "none")


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: Intradural mass effaces the thecal sac.",
        "L4-5: An intradural schwannoma narrows the thecal sac.",
        "L4-5: The thecal sac is effaced by an intradural mass.",
        "L4-5: There is an intradural schwannoma, which compresses the thecal sac.",
        "L4-5: A synovial cyst displaces the thecal sac.",
        "L4-5: Synovial cyst abuts the thecal sac.",
        "L4-5: Disc bulge contacts the thecal sac.",
        "L4-5: Epidural lipomatosis.",
        "L4-5: Mild lateral recess narrowing.",
    ],
)
def test_not_canal_stenosis(lab, text):
    assert at(lab, text).canal_stenosis == "none"


def test_intradural_lesion_does_not_hide_a_disc_stenosis(lab):
    assert (
        at(
            lab, "L4-5: Disc bulge effaces the thecal sac; an intradural schwannoma is noted."
        ).canal_stenosis
        == "unspecified"
    )


def test_displaced_root_by_a_cyst_is_subarticular_not_canal(lab):
    r = at(lab, "L4-5: Synovial cyst displaces the left L5 nerve root.")
    assert (r.canal_stenosis, r.left_subarticular, r.right_subarticular) == (
        "none",
        "unspecified",
        "none",
    )


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: Disc bulge effaces the thecal sac. No central canal narrowing.",
        "L4-5: Disc bulge effaces the thecal sac without central canal stenosis.",
        "L4-5: Disc bulge mildly effaces the thecal sac without stenosis.",
        "L5-S1: 1-mm midline disc bulge with mild effacement of the anterior thecal sac. No central canal narrowing.",
    ],
)
def test_negation_wins_over_effacement(lab, text):
    name = "L5-S1" if text.startswith("L5") else "L4-L5"
    r = at(lab, text, name)
    assert (r.disc, r.canal_stenosis) == ("bulge", "none")


def test_grade_belongs_to_arthropathy_and_stenosis_is_negated(lab):
    text = "L4-5: Mild facet arthropathy and ligamentum flavum thickening without canal or foraminal stenosis."
    assert row(lab, text) == ("none",) * 6
    text = "L3-4: Shallow disc bulge and mild facet arthropathy without spinal canal or neural foraminal stenosis."
    assert row(lab, text, "L3-L4") == ("bulge",) + ("none",) * 5


@pytest.mark.parametrize(
    "text,canal,left",
    [
        ("L4-5: Severe facet arthropathy with foraminal narrowing.", "none", "unspecified"),
        (
            "L4-5: Severe degenerative disc disease with moderate bilateral foraminal narrowing.",
            "none",
            "moderate",
        ),
        ("L4-5: Mild ligamentum flavum thickening narrows the canal.", "unspecified", "none"),
        (
            "L4-5: Moderate facet hypertrophy and ligamentum flavum thickening cause moderate canal stenosis.",
            "moderate",
            "none",
        ),
    ],
)
def test_grade_of_another_finding_is_not_the_stenosis_grade(lab, text, canal, left):
    r = at(lab, text)
    assert (r.canal_stenosis, r.left_foraminal) == (canal, left)


def test_lateral_recess_is_not_central_canal(lab):
    r = at(lab, "L4-5: Left facet synovial cyst narrows the left lateral recess.")
    assert (r.canal_stenosis, r.left_subarticular, r.right_subarticular) == (
        "none",
        "unspecified",
        "none",
    )


# --------------------------------------------------------------------------
# 5. Foraminal fat


def test_perineural_fat_worked_example(lab):
    text = "L4-5: Diffuse bulge; the posterolateral components efface the perineural fat in both foramina."
    assert row(lab, text) == ("bulge", "none", "unspecified", "unspecified", "none", "none")
    assert at(lab, text).canal_class == 1


@pytest.mark.parametrize(
    "text,left,right",
    [
        ("L4-5: Obliteration of the left foraminal fat.", "unspecified", "none"),
        ("L4-5: Mild effacement of the right foraminal fat.", "none", "mild"),
        ("L4-5: Bulge effaces the foraminal fat bilaterally.", "unspecified", "unspecified"),
        ("L4-5: Disc bulge effacing the perineural fat.", "unspecified", "unspecified"),
        ("L4-5: Loss of the perineural fat in the left foramen.", "unspecified", "none"),
        (
            "L4-5: Partial effacement of the perineural fat in the right neural foramen.",
            "none",
            "unspecified",
        ),
        ("L4-5: Disc bulge obliterates the fat in the left neural foramen.", "unspecified", "none"),
        ("L4-5: Foraminal fat is preserved.", "none", "none"),
        # the fat named beside a sided foramen is that foramen's (both sides before)
        ("L4-5: Left foraminal perineural fat effacement.", "unspecified", "none"),
        ("L4-5: There is perineural fat effacement in the left foramen.", "unspecified", "none"),
        (
            "L4-5: Perineural fat is effaced in the left foramen and preserved on the right.",
            "unspecified",
            "none",
        ),
        ("L4-5: Perineural fat effacement bilaterally.", "unspecified", "unspecified"),
        # the fat of a clause after "with" or "and" is that of the sided foramen narrowed before
        # it (both sides before) ...
        ("L4-5: Left foraminal narrowing with loss of perineural fat.", "unspecified", "none"),
        (
            "L4-5: Right foraminal stenosis, with effacement of the perineural fat.",
            "none",
            "unspecified",
        ),
        ("L4-5: Mild left foraminal narrowing and loss of perineural fat.", "mild", "none"),
        # ... unless it names a side of its own, or the foramen was a disc's place
        (
            "L4-5: Left foraminal narrowing with loss of perineural fat bilaterally.",
            "unspecified",
            "unspecified",
        ),
        (
            "L4-5: Left foraminal narrowing with loss of perineural fat on the right.",
            "unspecified",
            "unspecified",
        ),
        (
            "L4-5: Left paracentral protrusion with loss of perineural fat.",
            "unspecified",
            "unspecified",
        ),
        ("L4-5: Left foraminal stenosis. Loss of perineural fat.", "unspecified", "unspecified"),
        ("L4-5: Disc bulge effaces the epidural fat.", "none", "none"),
    ],
)
def test_foraminal_fat(lab, text, left, right):
    assert foramina(lab, text) == (left, right)


# --------------------------------------------------------------------------
# 6. Exiting and traversing roots; the side of an unsided root contact


def test_traversing_root_worked_example(lab):
    text = "L4-5: Left paracentral protrusion abutting the traversing L5 root."
    assert row(lab, text) == ("herniation", "none", "none", "none", "unspecified", "none")
    assert at(lab, text).canal_class == 1


@pytest.mark.parametrize(
    "text,name,field",
    [
        ("L4-5: Protrusion abuts the L5 nerve root.", "L4-L5", "subarticular"),
        ("L4-5: Protrusion abuts the L4 nerve root.", "L4-L5", "foraminal"),
        ("L5-S1: Protrusion abuts the S1 nerve root.", "L5-S1", "subarticular"),
        ("L5-S1: Protrusion abuts the L5 nerve root.", "L5-S1", "foraminal"),
        ("L3-4: Extrusion compresses the L4 root.", "L3-L4", "subarticular"),
        ("L3-4: Extrusion compresses the L3 root.", "L3-L4", "foraminal"),
        ("L4-5: Protrusion abuts the exiting nerve root.", "L4-L5", "foraminal"),
        ("L4-5: Protrusion abuts the descending nerve root.", "L4-L5", "subarticular"),
    ],
)
def test_root_by_level(lab, text, name, field):
    r = at(lab, text, name)
    got = {f: getattr(r, f) for f in LABEL_FIELDS[2:] if getattr(r, f) != "none"}
    assert got == {f"left_{field}": "unspecified", f"right_{field}": "unspecified"}


@pytest.mark.parametrize(
    "text,field,sides",
    [
        (
            "L4-5: Left paracentral protrusion abutting the L5 root.",
            "subarticular",
            ("unspecified", "none"),
        ),
        (
            "L5-S1: Right paracentral protrusion contacting the S1 nerve root.",
            "subarticular",
            ("none", "unspecified"),
        ),
        (
            "L4-5: Left foraminal protrusion displaces the exiting L4 nerve root.",
            "foraminal",
            ("unspecified", "none"),
        ),
        (
            "L4-5: Left paracentral protrusion narrows the lateral recess.",
            "subarticular",
            ("unspecified", "none"),
        ),
        (
            "L4-5: Right protrusion abutting the left L5 root.",
            "subarticular",
            ("unspecified", "none"),
        ),
        # "central" and "midline" are not sides; plural roots / recesses are both
        (
            "L4-5: Central protrusion abuts the traversing nerve root.",
            "subarticular",
            ("unspecified",) * 2,
        ),
        (
            "L4-5: Midline protrusion contacts the L5 nerve root.",
            "subarticular",
            ("unspecified",) * 2,
        ),
        ("L4-5: Central protrusion abuts the exiting L4 root.", "foraminal", ("unspecified",) * 2),
        (
            "L4-5: Left paracentral protrusion narrows the lateral recesses.",
            "subarticular",
            ("unspecified",) * 2,
        ),
        (
            "L4-5: Left paracentral protrusion contacts the L5 nerve roots.",
            "subarticular",
            ("unspecified",) * 2,
        ),
    ],
)
def test_side_of_a_root_contact_in_the_sentence(lab, text, field, sides):
    name = "L5-S1" if text.startswith("L5") else "L4-L5"
    r = at(lab, text, name)
    assert (getattr(r, f"left_{field}"), getattr(r, f"right_{field}")) == sides


@pytest.mark.parametrize(
    "text,field,sides",
    [
        (
            "L4-5: A left foraminal protrusion. It touches the exiting root.",
            "foraminal",
            ("unspecified", "none"),
        ),
        (
            "L4-5: A left paracentral protrusion. It abuts the L5 root.",
            "subarticular",
            ("unspecified", "none"),
        ),
        (
            "L4-5: Right paracentral protrusion. Mild canal stenosis. The protrusion abuts the L5 nerve root.",
            "subarticular",
            ("none", "unspecified"),
        ),
        (
            "L4-5:\nA left paracentral protrusion.\nIt contacts the descending nerve root.",
            "subarticular",
            ("unspecified", "none"),
        ),
    ],
)
def test_side_of_a_root_contact_from_the_sentence_it_continues(lab, text, field, sides):
    r = at(lab, text)
    assert (getattr(r, f"left_{field}"), getattr(r, f"right_{field}")) == sides


def test_continuation_side_does_not_cross_levels(lab):
    text = "L3-4: Left foraminal protrusion. L4-5: Disc bulge. It touches the exiting root."
    assert foramina(lab, text) == ("unspecified", "unspecified")
    assert foramina(lab, text, "L3-L4") == ("none", "none")


def test_continuation_with_no_side_anywhere_is_both(lab):
    assert recesses(lab, "L4-5: Central protrusion. It abuts the traversing L5 root.") == (
        "unspecified",
        "unspecified",
    )


def test_own_sided_disc_beats_the_carried_side(lab):
    text = "L4-5: Left foraminal protrusion. Right paracentral protrusion abutting the L5 root."
    assert recesses(lab, text) == ("none", "unspecified")


@pytest.mark.parametrize(
    "text,disc",
    [
        ("L4-5: Posterior and anterior disc bulge.", "bulge"),
        ("L4-5: Anterior and left lateral disc bulge.", "bulge"),
        ("L4-5: Left antero-lateral disc bulge.", "none"),
        ("L4-5: Mild posterior disc bulge and anterior bulging.", "bulge"),
    ],
)
def test_coordinated_direction_words(lab, text, disc):
    assert at(lab, text).disc == disc


@pytest.mark.parametrize(
    "text,field,sides",
    [
        # a root borrowed from the next clause keeps its own words
        (
            "L4-5: Right subarticular protrusion. Contact with the traversing L5 nerve root.",
            "subarticular",
            ("none", "unspecified"),
        ),
        (
            "L5-S1: Mild disc bulge that contacts but does not compress the S1 roots.",
            "subarticular",
            ("unspecified", "unspecified"),
        ),
        # coordinated roots share the contact
        (
            "L4-5: Protrusion abuts the traversing right L5 nerve root and the exiting left L4 nerve root.",
            "foraminal",
            ("unspecified", "none"),
        ),
        (
            "L4-5: Protrusion abuts the traversing right L5 nerve root and the exiting left L4 nerve root.",
            "subarticular",
            ("none", "unspecified"),
        ),
        # the same level named again: still the sentence it continues
        (
            "L5-S1: Right paracentral disc extrusion. L5-S1 facet arthropathy. It compresses the S1 nerve root.",
            "subarticular",
            ("none", "unspecified"),
        ),
    ],
)
def test_root_contacts_across_clauses_and_sentences(lab, text, field, sides):
    name = "L5-S1" if text.startswith("L5") else "L4-L5"
    r = at(lab, text, name)
    assert (getattr(r, f"left_{field}"), getattr(r, f"right_{field}")) == sides


def test_negated_root_contact_after_a_side_word(lab):
    text = "L4-5: A small left foraminal protrusion extends into the left neural foramen without nerve root compression."
    assert row(lab, text) == ("herniation",) + ("none",) * 5
