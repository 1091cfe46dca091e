"""Guide v1.2 finding lexicon in real report language: radiologists' abbreviations (HNP,
DDD, NF, CCS, B/L, bilat, R/L, L/R, a bare L / R, lt / rt, w/, mod, sev, "mod-to-sev",
"lat recess", "lig flavum", "L>R", "->"), finding statements whose place and narrowing
word a verb separates, and grades that belong to another finding."""

import pytest

from tests.nlp.conftest import LABEL_FIELDS, at, found, level, row

# --------------------------------------------------------------------------
# 1. Abbreviations


@pytest.mark.parametrize(
    "text,canal",
    [
        ("L4-5: Mod CCS.", "moderate"),
        ("L4-5: mild bulge, mild CCS.", "mild"),
        ("L4-5: Sev CCS.", "severe"),
        ("L4-5: mod-to-sev CCS.", "severe"),
        ("L4-5: Mod-sev CCS.", "severe"),
        ("L4-5: Mild-mod CCS.", "moderate"),
        ("L4-5: bulge w/ sev canal stenosis.", "severe"),
        ("L4-5: No CCS.", "none"),
        ("L4-5: mild bulge, no CCS.", "none"),
        ("L4-5: mod bulge + lig flavum hypertrophy -> mod-to-sev CCS.", "severe"),
        ("L4-5: CCS now mod (prev mild).", "moderate"),
    ],
)
def test_canal_abbreviations(lab, text, canal):
    assert at(lab, text).canal_stenosis == canal


@pytest.mark.parametrize(
    "text,left,right",
    [
        ("L4-5: Mild B/L NF narrowing.", "mild", "mild"),
        ("L4-5: mild bilat NF narrowing.", "mild", "mild"),
        ("L4-5: Mod bilat foraminal stenosis.", "moderate", "moderate"),
        ("L4-5: Foramina: mild bilaterally.", "mild", "mild"),
        ("L4-5: foramina mild, canal patent.", "mild", "mild"),
        ("L4-5: mild R/L NF narrowing.", "mild", "mild"),
        ("L4-5: mild L/R NF narrowing.", "mild", "mild"),
        ("L4-5: Mild L NF narrowing. R NF patent.", "mild", "none"),
        ("L4-5: Mod L and mild R NF narrowing.", "moderate", "mild"),
        ("L4-5: Mod lt NF stenosis.", "moderate", "none"),
        ("L4-5: Mild rt NF narrowing.", "none", "mild"),
        ("L4-5: NF patent B/L.", "none", "none"),
        ("L4-5: mild B/L NFN.", "mild", "mild"),
        ("L4-5: Mod L NFN, no CCS.", "moderate", "none"),
        ("L4-5: NF: mild B/L, stable.", "mild", "mild"),
        ("L4-5: Sev R NF stenosis.", "none", "severe"),
        ("L4-5: mild NF narrowing, L>R.", "mild", "mild"),
        # a letter given its own grade at the end of a statement
        ("L4-5: NF narrowing mild L, mod R.", "mild", "moderate"),
        ("L4-5: NF narrowing: L mild, R mod.", "mild", "moderate"),
        ("L4-5: NF narrowing mild L and sev R.", "mild", "severe"),
        ("L4-5: mild bulge, L and R NF patent.", "none", "none"),
    ],
)
def test_foramen_abbreviations(lab, text, left, right):
    r = at(lab, text)
    assert (r.left_foraminal, r.right_foraminal) == (left, right)


@pytest.mark.parametrize(
    "text,left,right",
    [
        ("L4-5: B/L lat recess narrowing, L>R.", "unspecified", "unspecified"),
        ("L4-5: B/L lat recess stenosis, sev.", "severe", "severe"),
        ("L4-5: sev R lat recess stenosis.", "none", "severe"),
        ("L4-5: mod lt lat recess stenosis.", "moderate", "none"),
        ("L4-5: L paracentral HNP contacting the traversing L L5 root.", "unspecified", "none"),
    ],
)
def test_recess_abbreviations(lab, text, left, right):
    r = at(lab, text)
    assert (r.left_subarticular, r.right_subarticular) == (left, right)


def test_bare_side_letters_worked_example(lab):
    text = (
        "L3-4: mild diffuse disc bulge, mild facet DJD. Mild B/L NF narrowing. No CCS.\n"
        "L4-5: mod diffuse bulge + lig flavum hypertrophy -> mod-to-sev CCS. B/L lat recess "
        "narrowing, L>R. Mod B/L NF narrowing.\n"
        "L5-S1: L paracentral HNP contacting the L S1 nerve root. Mild L NF narrowing. R NF patent."
    )
    r = lab.label(text)
    assert tuple(getattr(level(r, "L3-L4"), f) for f in LABEL_FIELDS) == (
        "bulge",
        "none",
        "mild",
        "mild",
        "none",
        "none",
    )
    assert tuple(getattr(level(r, "L4-L5"), f) for f in LABEL_FIELDS) == (
        "bulge",
        "severe",
        "moderate",
        "moderate",
        "unspecified",
        "unspecified",
    )
    assert tuple(getattr(level(r, "L5-S1"), f) for f in LABEL_FIELDS) == (
        "herniation",
        "none",
        "mild",
        "none",
        "unspecified",
        "none",
    )


@pytest.mark.parametrize(
    "text,disc",
    [
        ("L4-5: broad HNP.", "herniation"),
        ("L4-5: sm central HNP, contacts thecal sac.", "herniation"),
        ("L4-5: DDD w/ mild bulge.", "bulge"),
        ("L4-5: DDD.", "none"),
        ("L4-5: mild facet DJD.", "none"),
        ("L4-5: sev facet OA.", "none"),
        ("L4-5: LF thickening.", "none"),
    ],
)
def test_disc_abbreviations(lab, text, disc):
    assert at(lab, text).disc == disc


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: mild bulge, mild facet DJD.",
        "L4-5: bulge, sev facet OA, no stenosis.",
        "L4-5: mod DDD, mild bulge.",
        "L4-5: mild bulge w/ mild LF thickening.",
    ],
)
def test_grade_of_an_abbreviated_finding_is_not_a_stenosis(lab, text):
    assert row(lab, text)[1:] == ("none",) * 5


@pytest.mark.parametrize(
    "text",
    [
        # a bare letter is a side only before what has a side
        "L4-5: Mild bulge. MRI L spine otherwise normal.",
        "L4-5: mild bulge. R/O HNP.",
        "L4 L5: mild bulge.",
    ],
)
def test_bare_letters_that_are_not_sides(lab, text):
    r = at(lab, text)
    assert (r.left_foraminal, r.right_foraminal, r.left_subarticular, r.right_subarticular) == (
        "none",
    ) * 4


def test_r_side_of_the_thecal_sac(lab):
    text = (
        "L4-5: synovial cyst arising from the R facet which compresses the R side of the thecal "
        "sac, w/ mod CCS and sev R lat recess stenosis, the traversing R L5 root compressed."
    )
    assert row(lab, text) == ("none", "moderate", "none", "none", "none", "severe")


def test_upper_case_abbreviations(lab):
    text = (
        "MRI L/S: L5-S1 LG L PARACENTRAL EXTRUSION W/ COMPRESSION OF THE L S1 ROOT, MOD CCS. "
        "L4-5 MILD BULGE W/ MILD BILAT NF NARROWING."
    )
    r = lab.label(text)
    assert tuple(getattr(level(r, "L5-S1"), f) for f in LABEL_FIELDS) == (
        "herniation",
        "moderate",
        "none",
        "none",
        "unspecified",
        "none",
    )
    assert tuple(getattr(level(r, "L4-L5"), f) for f in LABEL_FIELDS) == (
        "bulge",
        "none",
        "mild",
        "mild",
        "none",
        "none",
    )


@pytest.mark.parametrize(
    "text",
    [
        "L4-5: mild disc bulge with a small left foraminal component.",
        "L4-5: mild foraminal osteophytes.",
    ],
)
def test_grade_before_a_place_is_no_stenosis(lab, text):
    r = at(lab, text)
    assert (r.canal_stenosis, r.left_foraminal, r.right_foraminal) == ("none",) * 3


# --------------------------------------------------------------------------
# 2. Grades that belong to one side or compare sides


@pytest.mark.parametrize(
    "text,left,right",
    [
        # guide: "In both foramina, severe on the left" gives left severe, right unspecified
        ("L3-4: Bilat NF narrowing sever on the lt.", "severe", "unspecified"),
        ("L3-4: bilateral foraminal narrowing, severe on the left.", "severe", "unspecified"),
        ("L3-4: The foramina are narrowed severely on the right.", "unspecified", "severe"),
        (
            "L3-4: bilateral foraminal narrowing mild on the left and severe on the right.",
            "mild",
            "severe",
        ),
        # one side named only: the other side stays none
        ("L3-4: Foraminal narrowing is severe on the left.", "severe", "none"),
        # a grade with both sides applies to both ("moderate ... greater on the right")
        (
            "L3-4: Moderate bilateral foraminal narrowing, greater on the right.",
            "moderate",
            "moderate",
        ),
    ],
)
def test_grade_given_to_one_side(lab, text, left, right):
    r = at(lab, text, "L3-L4")
    assert (r.left_foraminal, r.right_foraminal) == (left, right)


@pytest.mark.parametrize(
    "text,right",
    [
        ("L5-S1: the right foramen is more severely narrowed than the left.", "unspecified"),
        (
            "L5-S1: the right foramen is more severely narrowed than the left, moderate on the right.",
            "moderate",
        ),
        ("L5-S1: the right foramen is less markedly narrowed.", "unspecified"),
        ("L5-S1: the right foramen is severely narrowed.", "severe"),
    ],
)
def test_comparative_is_not_a_grade(lab, text, right):
    assert at(lab, text, "L5-S1").right_foraminal == right


def test_comparative_worked_example(lab):
    text = (
        "Findings:\nThere is mild bilateral foraminal narrowing at every level from facet hypertrophy.\n\n"
        "L5-S1: the right foramen is more severely narrowed than the left, moderate on the right."
    )
    r = at(lab, text, "L5-S1")
    assert (r.left_foraminal, r.right_foraminal) == ("mild", "moderate")


# --------------------------------------------------------------------------
# 3. A stated grade beats unspecified across statements


def test_impression_supplies_the_grade_findings_leaves_out(lab):
    text = (
        "Findings:\nAt L4/5 there is a shallow broad-based disc bulge. The perineural fat in the right "
        "neural foramen is partially effaced. The left foramen is clear.\n\n"
        "Impression:\n1. Mild right L4/5 foraminal narrowing."
    )
    r = at(lab, text)
    assert (r.left_foraminal, r.right_foraminal) == ("none", "mild")


def test_findings_grade_still_beats_impression_grade(lab):
    text = "Findings:\nL4-5: moderate canal stenosis.\n\nImpression:\nSevere L4-5 canal stenosis."
    assert at(lab, text).canal_stenosis == "moderate"


def test_impression_grade_does_not_revive_a_negated_finding(lab):
    text = "Findings:\nL4-5: No canal stenosis.\n\nImpression:\nMild L4-5 canal stenosis."
    assert at(lab, text).canal_stenosis == "none"


# --------------------------------------------------------------------------
# 4. The side of a foraminal disc and of a disc component


@pytest.mark.parametrize(
    "text,left,right",
    [
        # an unsided foramen in the sentence of a sided foraminal disc is that disc's foramen
        (
            "L4/5: Left L4/5 foraminal disc protrusion with severe foraminal stenosis.",
            "severe",
            "none",
        ),
        (
            "L4/5: far lateral left L4-L5 protrusion with foraminal fat effacement.",
            "unspecified",
            "none",
        ),
        ("L4/5: Right extraforaminal protrusion narrowing the foramen.", "none", "unspecified"),
        # near misses: a disc that is not foraminal, a both-sided statement, plural foramina, patency
        ("L4-5: left paracentral protrusion with mild foraminal narrowing.", "mild", "mild"),
        (
            "L4-5: left foraminal protrusion with mild bilateral foraminal narrowing.",
            "mild",
            "mild",
        ),
        ("L4-5: left foraminal protrusion; the foramina are mildly narrowed.", "mild", "mild"),
        ("L4-5: left foraminal protrusion. Mild foraminal narrowing.", "mild", "mild"),
        ("L4-5: left foraminal protrusion without foraminal stenosis.", "none", "none"),
    ],
)
def test_side_of_a_foraminal_disc(lab, text, left, right):
    r = at(lab, text)
    assert (r.left_foraminal, r.right_foraminal) == (left, right)


def test_disc_component_carries_its_side(lab):
    text = (
        "L4-L5: Moderate diffuse disc bulge with a left foraminal component narrowing the left "
        "foramen moderately; the exiting L4 root is displaced. Mild canal stenosis."
    )
    assert row(lab, text) == ("bulge", "mild", "moderate", "none", "none", "none")


@pytest.mark.parametrize(
    "text,disc",
    [
        ("L4-5: mild disc bulge with a small left foraminal component.", "bulge"),
        (
            "L4-5: Diffuse bulge; the posterolateral components efface the perineural fat in both foramina.",
            "bulge",
        ),
        ("L4-5: synovial cyst with a cystic component.", "none"),
        ("L4-5: Moderate stenosis with a central component of the narrowing.", "none"),
    ],
)
def test_disc_component_is_no_disc_finding(lab, text, disc):
    assert at(lab, text).disc == disc


@pytest.mark.parametrize(
    "text,disc,uncertain",
    [
        # a component named on its own, toward the canal, is a focal herniation
        ("L4-5: Small right paracentral component.", "herniation", False),
        (
            "L4-L5: DDD, mild broad bulge, mild R/L NF narrowing. Possible sm rt paracentral component. Canal OK.",
            "bulge",
            True,
        ),
    ],
)
def test_lone_disc_component(lab, text, disc, uncertain):
    r = at(lab, text)
    assert (r.disc, r.uncertain) == (disc, uncertain)


# --------------------------------------------------------------------------
# 5. Root contacts split over clauses


def test_root_joined_to_the_verb_of_the_clause_before(lab):
    text = (
        "L4-5: recurrent right paracentral disc herniation which compresses the right side of the "
        "thecal sac and the right L5 nerve root, with moderate canal stenosis."
    )
    assert row(lab, text) == ("herniation", "moderate", "none", "none", "none", "unspecified")


def test_root_after_a_separate_sentence_is_not_compressed(lab):
    text = "L4-5: The disc bulge indents the thecal sac. The right L5 nerve root is normal."
    assert row(lab, text) == ("bulge", "unspecified", "none", "none", "none", "none")


def test_contact_noun_after_a_root_named_without_a_verb(lab):
    text = (
        "L5-S1: Extraforaminal left disc protrusion lateral to the foramen, close to the left L5 "
        "nerve root; contact cannot be excluded. The foramen itself is patent."
    )
    r = at(lab, text, "L5-S1")
    assert (r.disc, r.left_foraminal, r.right_foraminal, r.uncertain) == (
        "herniation",
        "none",
        "none",
        True,
    )
    text = "L5-S1: protrusion near the left S1 nerve root, contact is likely."
    assert at(lab, text, "L5-S1").left_subarticular == "unspecified"


# --------------------------------------------------------------------------
# 6. Two finding words written without the space between them


def test_glued_key_terms(lab):
    text = "L4-L5:Diffuse disc bulge.Moderate right and mild left neural foraminalnarrowing."
    r = lab.label(text)
    lv = level(r, "L4-L5")
    assert (lv.left_foraminal, lv.right_foraminal) == ("mild", "moderate")
    spans = {text[e["start"] : e["end"]] for e in r.evidence[3] if e["field"] == "left_foraminal"}
    assert spans == {"mild left neural foraminalnarrowing"}


@pytest.mark.parametrize("word", ["bulgeing", "leftward", "rightward", "narrowings"])
def test_words_that_are_not_two_terms(lab, word):
    from labeling.nlp.spelling import get_speller

    assert " " not in (get_speller().correction(word) or "")


# --------------------------------------------------------------------------
# 7. The uncovered disc of a listhesis is a bulge (guide: pseudo-bulge / uncovering)


@pytest.mark.parametrize(
    "text,disc",
    [
        ("L4-5: gr 1 anterolisthesis L4 on L5, facet effusions. Disc uncovered. Mod CCS.", "bulge"),
        ("L4-5: ANTEROLISTHESIS WITH DISC UNCOVERING AND MODERATE CANAL STENOSIS.", "bulge"),
        ("L4-5: At this level the disc is uncovered, with moderate canal stenosis.", "bulge"),
        (
            "L4-5: the disc is severely degenerated with uncovering of its posterior margin.",
            "bulge",
        ),
        ("L4-5: The resulting pseudo-disc narrows both foramina.", "bulge"),
        ("L4-5: Uncovering of the L4-5 disc with bilateral foraminal narrowing.", "bulge"),
        ("L4-5: The disc is not uncovered.", "none"),
    ],
)
def test_uncovered_disc(lab, text, disc):
    assert at(lab, text).disc == disc


# --------------------------------------------------------------------------
# 8. Place and narrowing separated by a verb


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "The foramina show mild narrowing bilaterally.",
            {"left_foraminal": "mild", "right_foraminal": "mild"},
        ),
        (
            "The lateral recesses are narrowed, left more than right.",
            {"left_subarticular": "unspecified", "right_subarticular": "unspecified"},
        ),
        ("The left foramen demonstrates moderate narrowing.", {"left_foraminal": "moderate"}),
        ("The central canal is moderately narrowed.", {"canal_stenosis": "moderate"}),
        ("Narrowing of the right foramen is severe.", {"right_foraminal": "severe"}),
        (
            "There is narrowing of the left neural foramen, which is moderate.",
            {"left_foraminal": "moderate"},
        ),
        (
            "The right foramen is severely narrowed and the left moderately.",
            {"left_foraminal": "moderate", "right_foraminal": "severe"},
        ),
        ("The canal is narrowed to a moderate degree.", {"canal_stenosis": "moderate"}),
        ("The right subarticular recess shows severe narrowing.", {"right_subarticular": "severe"}),
        (
            "Canal: moderate stenosis. Foramina: mild bilateral narrowing.",
            {"canal_stenosis": "moderate", "left_foraminal": "mild", "right_foraminal": "mild"},
        ),
        ("The neural foramina remain patent.", {}),
    ],
)
def test_place_and_narrowing_separated_by_a_verb(lab, text, expected):
    r = at(lab, "L4-5: " + text)
    got = {f: getattr(r, f) for f in LABEL_FIELDS[1:] if getattr(r, f) != "none"}
    assert got == expected


def test_verb_separated_worked_example(lab):
    text = (
        "At L4-L5 there is loss of disc height with a broad-based disc bulge and moderate bilateral facet "
        "hypertrophy. Together these produce moderate central canal stenosis. The lateral recesses are "
        "narrowed, left more than right, and the foramina show mild narrowing bilaterally. A tiny "
        "annular fissure is noted posteriorly."
    )
    assert row(lab, text) == ("bulge", "moderate", "mild", "mild", "unspecified", "unspecified")


@pytest.mark.parametrize(
    "text",
    [
        # the guide's word forms of a sequestration ("sequestrated" was not read before)
        "L4-5: Sequestrated disc fragment.",
        "L4-5: A sequestrated fragment lies behind the L5 body.",
        "L4-5: Sequestered disc fragment.",
        "L4-5: Disc sequestration.",
    ],
)
def test_sequestration_word_forms(lab, text):
    assert at(lab, text).disc == "herniation"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a grade's short form with its full stop grades what follows: the stop ended the
        # sentence before, and the stenosis came out unspecified
        ("Level L4/5 - mod. canal stenosis.", {"L4-L5": "c=moderate"}),
        ("L4-5: sev. central canal stenosis.", {"L4-L5": "c=severe"}),
        ("L4-5: mod. bilateral foraminal stenosis.", {"L4-L5": "lf=moderate rf=moderate"}),
        ("L4-5: sev. CCS.", {"L4-L5": "c=severe"}),
        # near misses: a stop after a grade that ends its sentence still ends it
        (
            "L4-5: canal stenosis, mod. L5-S1: mild canal stenosis.",
            {"L4-L5": "c=moderate", "L5-S1": "c=mild"},
        ),
        ("L4-5: canal stenosis, mod. The foramina are patent.", {"L4-L5": "c=moderate"}),
    ],
)
def test_a_stopped_grade_abbreviation_grades_what_follows(lab, text, expected):
    assert found(lab.label(text)) == expected
