"""Guide v1.2, round 2 of the level and assertion side: Findings vs Impression precedence,
carried levels, whole-spine statements, sections and sentences, clinic notes, hedges."""

import pytest

from tests.nlp.conftest import found

# --------------------------------------------------------------------------
# Findings vs Impression: the Impression adds a grade the Findings left unstated


def test_impression_grades_an_ungraded_findings_statement(lab):
    r = lab.label(
        "FINDINGS:\nL4/5: Shallow disc bulge. The perineural fat in the right neural foramen is "
        "partially effaced.\n\nIMPRESSION:\nMild right L4/5 foraminal narrowing."
    )
    assert found(r) == {"L4-L5": "d=bulge rf=mild"}


def test_impression_grades_ungraded_recess_narrowing(lab):
    r = lab.label(
        "FINDINGS:\nL4-5: Disc protrusion with bilateral lateral recess narrowing.\n\n"
        "IMPRESSION:\nModerate bilateral lateral recess stenosis at L4-5."
    )
    assert found(r) == {"L4-L5": "d=herniation ls=moderate rs=moderate"}


def test_findings_grade_wins_over_a_different_impression_grade(lab):
    # near miss: Findings states a grade, so the Impression's grade does not replace it
    r = lab.label(
        "FINDINGS:\nL4-5: Mild right foraminal narrowing.\n\n"
        "IMPRESSION:\nModerate right L4-5 foraminal narrowing."
    )
    assert found(r) == {"L4-L5": "rf=mild"}


def test_ungraded_impression_leaves_findings_grade(lab):
    r = lab.label(
        "FINDINGS:\nL4-5: Right foraminal narrowing.\n\nIMPRESSION:\nRight L4-5 foraminal narrowing."
    )
    assert found(r) == {"L4-L5": "rf=unspecified"}


def test_hedged_impression_grade_does_not_grade(lab):
    # near miss: only a definite statement supplies the grade
    r = lab.label(
        "FINDINGS:\nL4-5: Right foraminal narrowing.\n\n"
        "IMPRESSION:\nPossible severe right L4-5 foraminal stenosis."
    )
    assert found(r)["L4-L5"].startswith("rf=unspecified")


# --------------------------------------------------------------------------
# Section headers: abbreviated ones, and an Impression run into the text


@pytest.mark.parametrize("header", ["IMP:", "Imp:", "IMPR:", "Concl:"])
def test_abbreviated_impression_header(lab, header):
    # the Impression line is not a Findings statement: the Findings grade wins
    r = lab.label(
        f"L4-5: Mild right foraminal narrowing.\n{header} Moderate right L4-5 foraminal narrowing."
    )
    assert found(r) == {"L4-L5": "rf=mild"}


@pytest.mark.parametrize("header", ["CLIN:", "Clin hx:", "IND:", "Hx:"])
def test_abbreviated_clinical_header(lab, header):
    r = lab.label(f"{header} L4-5 disc herniation\nL4-5: Normal disc.")
    assert found(r) == {}


def test_impression_run_into_the_text(lab):
    text = (
        "MRI lumbar spine. L4-5: mild right foraminal narrowing. L5-S1 unremarkable. "
        "Impression: moderate right L4-5 foraminal narrowing."
    )
    assert found(lab.label(text)) == {"L4-L5": "rf=mild"}
    # the Impression still adds what the Findings leave out
    text = "MRI lumbar spine. L4-5: mild bulge. Impression: L4-5 bulge with moderate right foraminal narrowing."
    assert found(lab.label(text)) == {"L4-L5": "d=bulge rf=moderate"}


def test_impression_word_mid_sentence_is_no_header(lab):
    # near miss: no full stop before it, or no colon after it
    text = "L4-5: mild right foraminal narrowing, giving the impression: moderate right foraminal narrowing."
    assert found(lab.label(text)) == {"L4-L5": "rf=moderate"}
    text = "L4-5: mild right foraminal narrowing. Impression of moderate right foraminal narrowing at L4-5."
    assert found(lab.label(text)) == {"L4-L5": "rf=moderate"}


# --------------------------------------------------------------------------
# Sentences and paragraphs: "o" bullets, a leading "?"

O_BULLETS = (
    "FINDINGS\n"
    "o  Grade 2 anterolisthesis of L5 on S1 w/ bilateral L5 pars\n"
    "   defects.  Marked uncovering of the disc, severe bilateral foraminal stenosis\n"
    "o  L4-5 : mild disc bulge, no stenosis\n"
    "o  L3-4 and above : normal\n"
    "o  Mild canal narrowing ;  Modic 1 endplate changes\n"
)


def test_o_bullets_are_items(lab):
    # each "o" item is a paragraph: the last item names no level, the first carries L5-S1 to its
    # wrapped second sentence
    assert found(lab.label(O_BULLETS)) == {
        "L4-L5": "d=bulge",
        "L5-S1": "d=bulge lf=severe rf=severe",
    }


def test_o_inside_a_line_is_no_bullet(lab):
    # near miss: an "o" that does not open a line is a word, not a bullet
    r = lab.label("L4-5: mild disc bulge with o  mild canal narrowing.")
    assert found(r) == {"L4-L5": "d=bulge c=mild"}


def test_leading_question_mark_opens_a_hedged_sentence(lab):
    r = lab.label(
        "L4-5: mild bulge, no canal stenosis. ? mild left foraminal narrowing.\nL5-S1: normal."
    )
    assert found(r) == {"L4-L5": "d=bulge unc"}


def test_trailing_question_mark_still_ends_its_sentence(lab):
    # near miss: "protrusion?" hedges what precedes it; the next sentence is definite
    r = lab.label("L4-5: small protrusion? Mild left foraminal narrowing.")
    assert found(r) == {"L4-L5": "lf=mild unc"}


# --------------------------------------------------------------------------
# A one-line clinical section ends where a labelled paragraph opens


def test_inline_indication_ends_before_a_labelled_line(lab):
    text = (
        "MRI CERVICAL THORACIC LUMBAR SPINE\n"
        "INDICATION: POLYTRAUMA, NEURO EXAM LIMITED\n"
        "CERVICAL: NO FRACTURE. C6-7 SMALL CENTRAL PROTRUSION.\n"
        "LUMBAR: GRADE 1 ANTEROLISTHESIS OF L4 ON L5 WITH MODERATE CANAL STENOSIS.\n"
        "MILD BILATERAL FORAMINAL NARROWING AT L4-5. L5-S1 MILD DISC\nBULGE."
    )
    assert found(lab.label(text)) == {"L4-L5": "c=moderate lf=mild rf=mild", "L5-S1": "d=bulge"}


def test_wrapped_indication_goes_on(lab):
    # near miss: the second line of a wrapped indication is no labelled paragraph
    text = (
        "INDICATION: back pain and left leg\nsciatica, L4-5 disc herniation?\n\nL4-5: Normal disc."
    )
    assert found(lab.label(text)) == {}


# --------------------------------------------------------------------------
# Whole-spine statements and lists

ALL_BULGE = dict.fromkeys(["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"], "d=bulge")


@pytest.mark.parametrize(
    "text",
    [
        "Diffusely, the lumbar discs demonstrate mild circumferential bulging.",
        "Diffusely the discs show mild bulging.",
        "Mild bulging of all of the lumbar discs.",
        "Mild bulging of each of the five lumbar discs.",
        "The lumbar discs are all mildly bulging.",
        "Each disc shows a mild bulge.",
    ],
)
def test_whole_spine_wording(lab, text):
    assert found(lab.label(text)) == ALL_BULGE


def test_whole_spine_after_a_named_level_paragraph(lab):
    text = (
        "There is multilevel degenerative disc disease, most advanced at L3-4 and L4-5. "
        "Diffusely, the lumbar discs demonstrate mild circumferential bulging.\n\n"
        "At L4-5 there is moderate canal stenosis."
    )
    assert found(lab.label(text)) == {**ALL_BULGE, "L4-L5": "d=bulge c=moderate"}


@pytest.mark.parametrize(
    "text",
    [
        "There is a diffuse disc bulge at L4-5.",  # one level: "diffuse" of one disc
        "Diffusely bulging L4-5 disc.",
        "Facet arthropathy at several levels. Diffuse disc bulging.",  # no level at all
    ],
)
def test_diffuse_of_one_disc_is_no_whole_spine_statement(lab, text):
    assert set(found(lab.label(text))) <= {"L4-L5"}


def test_bare_throughout_closing_a_clause(lab):
    r = lab.label(
        "L4-5: mild bulge.\n\nThe central canal is normal in calibre throughout. Mild foraminal narrowing "
        "at L4-5."
    )
    assert found(r) == {"L4-L5": "d=bulge lf=mild rf=mild"}
    r = lab.label("L4-5: moderate canal stenosis.\n\nMild foraminal narrowing throughout.")
    assert found(r) == {
        lv: ("c=moderate " if lv == "L4-L5" else "") + "lf=mild rf=mild"
        for lv in ["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
    }
    # near miss: "throughout" before what it spans is no whole-spine statement by itself
    r = lab.label("There is motion artefact throughout the study. L4-5: mild bulge.")
    assert found(r) == {"L4-L5": "d=bulge"}


def test_listhesis_list_with_repeated_preposition(lab):
    r = lab.label(
        "There is a 3 mm retrolisthesis of L2 on L3 and of L3 on L4 with associated disc bulges."
    )
    assert found(r) == {"L2-L3": "d=bulge", "L3-L4": "d=bulge"}
    r = lab.label("Small disc bulges of L3-4 and of the L4-5 level.")
    assert found(r) == {"L3-L4": "d=bulge", "L4-L5": "d=bulge"}


# --------------------------------------------------------------------------
# Carried levels: the brief's paragraph, comparisons, ranges, whole-spine asides

TOGETHER = (
    " Together these produce moderate central canal stenosis. The lateral recesses are narrowed, left "
    "more than right, and the foramina show mild narrowing bilaterally."
)
L45_TOGETHER = "c=moderate lf=mild rf=mild ls=unspecified rs=unspecified"


def test_unlevelled_sentences_keep_the_paragraph_level(lab):
    r = lab.label(
        "FINDINGS:\nAt L4-L5 there is a broad-based disc bulge with facet hypertrophy."
        + TOGETHER
        + "\n\nL5-S1: Normal."
    )
    assert found(r) == {"L4-L5": "d=bulge " + L45_TOGETHER}


@pytest.mark.parametrize(
    "first",
    [
        "At L4-L5 there is a broad-based disc bulge, more prominent than at L3-4.",
        "At L4-L5 there is a broad-based disc bulge and facet arthropathy, worse than at L3-L4.",
        "At L4-L5 there is a broad-based disc bulge and facet arthropathy (similar to L3-L4).",
        "At L4-L5 there is a broad-based disc bulge that is larger compared with L3-L4.",
        "At L4-L5 there is a broad-based disc bulge, unchanged compared to the L3-4 level.",
        "At L4-L5 there is a broad-based disc bulge and facet arthropathy, as at L3-L4.",
    ],
)
def test_a_comparison_level_is_not_carried(lab, first):
    r = lab.label("FINDINGS:\n" + first + TOGETHER)
    assert found(r) == {"L4-L5": "d=bulge " + L45_TOGETHER}


def test_comparison_only_sentence_keeps_the_carried_level(lab):
    r = lab.label(
        "L4-5: Broad-based disc bulge. The bulge is larger than at L3-4. Mild canal stenosis."
    )
    assert found(r) == {"L4-L5": "d=bulge c=mild"}


@pytest.mark.parametrize(
    "text,expected",
    [
        # near misses: a list or a plain second level is a mention, not a comparison
        (
            "Disc bulges at L3-4 as well as at L4-5. Mild canal stenosis.",
            {"L3-L4": "d=bulge c=mild", "L4-L5": "d=bulge c=mild"},
        ),
        (
            "Disc bulge at L4-5. No stenosis other than at L3-4, where the canal is mildly narrowed.",
            {"L4-L5": "d=bulge", "L3-L4": "c=mild"},
        ),
        (
            "At L4-L5 there is a disc bulge; the L3-L4 disc is normal. Mild canal stenosis.",
            {"L4-L5": "d=bulge", "L3-L4": "c=mild"},
        ),
    ],
)
def test_comparison_near_misses(lab, text, expected):
    assert found(lab.label(text)) == expected


def test_whole_spine_aside_keeps_the_carried_level(lab):
    r = lab.label(
        "FINDINGS:\nAt L4-L5 there is a bulge. As at all levels, there is facet arthropathy."
        + TOGETHER
    )
    assert found(r) == {"L4-L5": "d=bulge " + L45_TOGETHER}


def test_remaining_levels_statement_still_ends_the_carry(lab):
    # near miss: "the remaining levels" turns away from the level named before
    r = lab.label(
        "L5-S1: Moderate canal stenosis. The remaining levels are normal. Mild foraminal narrowing."
    )
    assert found(r) == {"L5-S1": "c=moderate"}


GUIDE_RANGE = "T12-L1 through L2-3: Mild facet arthropathy without canal or foraminal stenosis."


def test_guide_range_example(lab):
    assert found(lab.label(GUIDE_RANGE)) == {}
    r = lab.label(GUIDE_RANGE + "\nL3-4: Mild foraminal narrowing.\nL4-5: Moderate canal stenosis.")
    assert found(r) == {"L3-L4": "lf=mild rf=mild", "L4-L5": "c=moderate"}


def test_guide_range_example_against_a_whole_spine_statement(lab):
    # the range names its levels: it beats a whole-spine statement at L1-L2 and L2-L3
    r = lab.label("Mild foraminal narrowing at all levels.\n\n" + GUIDE_RANGE)
    assert found(r) == {lv: "lf=mild rf=mild" for lv in ("L3-L4", "L4-L5", "L5-S1")}


def test_range_is_carried_as_a_range(lab):
    # the sentence after a range belongs to the range's levels ...
    r = lab.label("T12-L1 through L2-3: Normal discs. Mild foraminal narrowing.")
    assert found(r) == {"L1-L2": "lf=mild rf=mild", "L2-L3": "lf=mild rf=mild"}
    # ... as a range: a level-specific statement still wins
    r = lab.label(
        "T12-L1 through L2-3: Normal discs. No foraminal narrowing.\n\n"
        "L2-3: Mild right foraminal narrowing."
    )
    assert found(r) == {"L2-L3": "rf=mild"}


def test_range_heading_items(lab):
    r = lab.label(
        "L1-L2 through L3-L4:\n- Small disc bulges.\n- No stenosis.\nL4-L5:\n- Moderate canal stenosis."
    )
    assert found(r) == {
        "L1-L2": "d=bulge",
        "L2-L3": "d=bulge",
        "L3-L4": "d=bulge",
        "L4-L5": "c=moderate",
    }


# --------------------------------------------------------------------------
# Clinic notes: the MRI a clinician reviewed, and the opinion inside an imaging sentence

LETTER = (
    "Dear Dr Smith,\n\nI saw this 52-year-old lady today with back pain.\n\n{}\n\nYours sincerely,"
)


def test_reviewed_mri_is_the_imaging(lab):
    r = lab.label(
        LETTER.format(
            "I reviewed her MRI scan from [date]. This demonstrates mild disc bulging at L3/4, L4/5 and L5/S1. "
            "There is a small left foraminal disc protrusion at L4/5 which might be touching the exiting L4 root."
        )
    )
    assert found(r) == {"L3-L4": "d=bulge", "L4-L5": "d=herniation unc", "L5-S1": "d=bulge"}


@pytest.mark.parametrize(
    "lead",
    [
        "Looking at her scan, there is",
        "On review of her MRI there is",
        "I have looked at her MRI, which shows",
    ],
)
def test_looking_at_the_scan_is_the_imaging(lab, lead):
    r = lab.label(LETTER.format(f"{lead} moderate canal stenosis at L3/4."))
    assert found(r) == {"L3-L4": "c=moderate"}


def test_reviewing_the_patient_is_not_the_imaging(lab):
    # near miss: a review of the patient or of the notes reports no imaging
    r = lab.label(
        LETTER.format("I reviewed her notes. There is a small disc protrusion at L4/5 per her GP.")
    )
    assert found(r) == {}


def test_opinion_clause_after_an_imaging_clause(lab):
    r = lab.label(
        LETTER.format(
            "Her new MRI scan shows degenerative disc disease. At L3/4, the level above her previous decompression, "
            "there is now moderate to severe canal stenosis and I suspect this is the source of her symptoms. "
            "There is also a suggestion of a small left L5/S1 protrusion, which I do not think is relevant."
        )
    )
    assert found(r) == {"L3-L4": "c=severe", "L5-S1": "unc"}


@pytest.mark.parametrize(
    "sentence",
    [
        "I think the L4/5 disc protrusion is the cause of her pain.",  # the opinion opens the sentence
        "She has an L5 radiculopathy, in keeping with the L4/5 protrusion.",
        "Given her symptoms, a small L4/5 protrusion would be relevant.",
    ],
)
def test_clinical_sentence_in_an_imaging_paragraph(lab, sentence):
    # near misses: no imaging clause comes before the clinical words
    r = lab.label(LETTER.format("Her MRI shows mild disc bulging at L3/4. " + sentence))
    assert found(r) == {"L3-L4": "d=bulge"}


# --------------------------------------------------------------------------
# Comparison wording: a former state is not a current finding


@pytest.mark.parametrize(
    "text",
    [
        "L4-L5: Canal now patent (previously moderately narrowed).",
        "L4-L5: The canal is now patent; formerly severe stenosis.",
        "L4-L5: Canal now patent, prev. mod stenosis.",
    ],
)
def test_former_state_is_historical(lab, text):
    assert found(lab.label(text)) == {}


@pytest.mark.parametrize(
    "text,expected",
    [
        # near misses: "previously seen / noted" is a current finding; a current grade stays
        ("L4-5: Previously seen mild left foraminal narrowing is unchanged.", "lf=mild"),
        ("L4-5: Previously noted moderate canal stenosis, stable.", "c=moderate"),
        ("L4-5: Canal stenosis now moderate (previously mild).", "c=moderate"),
        ("L4-5: Previously mild, now moderate canal stenosis.", "c=moderate"),
        ("L4-5: Moderate canal stenosis (previously mild stenosis).", "c=moderate"),
    ],
)
def test_current_state_stays(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


# --------------------------------------------------------------------------
# Findings vs Impression: an unsided Impression restates a one-sided Findings statement


def test_unsided_impression_follows_the_findings_side(lab):
    r = lab.label(
        "FINDINGS:\nL4/5: There is a broad left foraminal disc protrusion which severely narrows the left "
        "foramen.\n\nIMPRESSION:\nLeft L4/5 foraminal disc protrusion with severe foraminal stenosis."
    )
    assert found(r) == {"L4-L5": "d=herniation lf=severe"}


def test_unsided_impression_keeps_the_whole_spine_grade_on_the_other_side(lab):
    r = lab.label(
        "FINDINGS:\nThere is mild bilateral neural foraminal narrowing at all lumbar levels.\n\n"
        "L4/5: There is a broad left foraminal disc protrusion which severely narrows the left foramen.\n\n"
        "CONCLUSION: Left L4/5 foraminal disc protrusion with severe foraminal stenosis."
    )
    res = found(r)
    assert res["L4-L5"] == "d=herniation lf=severe rf=mild"
    assert res["L3-L4"] == "lf=mild rf=mild"


def test_unsided_impression_of_fat_effacement(lab):
    r = lab.label(
        "At L3-L4 a far lateral left disc protrusion effaces the left foraminal fat. "
        "Impression: far lateral left L3-L4 protrusion with foraminal fat effacement."
    )
    assert found(r) == {"L3-L4": "d=herniation lf=unspecified"}


@pytest.mark.parametrize(
    "impression,expected",
    [
        # near misses: the Impression names the other side, or both, or the Findings named no side
        ("Severe right L4/5 foraminal stenosis.", "lf=severe rf=severe"),
        ("Severe bilateral L4/5 foraminal stenosis.", "lf=severe rf=severe"),
        ("Severe foraminal stenosis at L4/5 on both sides.", "lf=severe rf=severe"),
    ],
)
def test_sided_impression_still_adds(lab, impression, expected):
    r = lab.label("FINDINGS:\nL4/5: Severe left foraminal stenosis.\n\nIMPRESSION:\n" + impression)
    assert found(r) == {"L4-L5": expected}


def test_unsided_impression_adds_both_sides_when_findings_name_none(lab):
    r = lab.label(
        "FINDINGS:\nL4/5: Disc bulge.\n\nIMPRESSION:\nL4/5 bulge with severe foraminal stenosis."
    )
    assert found(r) == {"L4-L5": "d=bulge lf=severe rf=severe"}
    r = lab.label(
        "FINDINGS:\nL4/5: Mild foraminal narrowing.\n\nIMPRESSION:\nL4/5 severe foraminal stenosis."
    )
    assert found(r) == {"L4-L5": "lf=mild rf=mild"}


# --------------------------------------------------------------------------
# Hedges and their scope


@pytest.mark.parametrize(
    "text,expected",
    [
        # a hedge right before "with" doubts what the "with" adds
        (
            "L4-5: Broad disc bulge, possibly with a small superimposed central protrusion.",
            "d=bulge unc",
        ),
        ("L4-5: Findings suggest a small protrusion. Mild canal stenosis.", "c=mild unc"),
        # a graded finding coordinated after the hedged one is a statement of its own
        ("L4-5: Possible small protrusion and moderate canal stenosis.", "c=moderate unc"),
        (
            "L4-5: Bulge with possible mild bilateral foraminal narrowing and moderate canal stenosis.",
            "d=bulge c=moderate unc",
        ),
        ("L4-5: Questionable small protrusion as well as mild canal stenosis.", "c=mild unc"),
    ],
)
def test_hedge_scope(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


@pytest.mark.parametrize(
    "text,expected",
    [
        # near misses: a hedge over one noun phrase doubts all of it; a modal doubts its whole predicate
        ("L4-5: Possible mild foraminal and canal stenosis.", "unc"),
        ("L4-5: The canal may be mildly narrowed and the foramina moderately narrowed.", "unc"),
        ("L4-5: Possible small protrusion and annular fissure.", "unc"),
        (
            "L4-5: Bulge with a small protrusion, possibly contacting the left L5 root.",
            "d=herniation unc",
        ),
        # "with" after a definite finding still ends a hedge before it
        ("L4-5: Possible small protrusion with moderate canal stenosis.", "c=moderate unc"),
    ],
)
def test_hedge_scope_near_misses(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


# --------------------------------------------------------------------------
# Findings vs Impression: a Findings range names its levels and wins


def test_guide_range_example_wins_over_the_impression(lab):
    r = lab.label(
        "FINDINGS:\n" + GUIDE_RANGE + "\nL4-5: Moderate canal stenosis.\n\n"
        "IMPRESSION:\nModerate L4-5 canal stenosis. Mild L2-3 foraminal narrowing."
    )
    assert found(r) == {"L4-L5": "c=moderate"}


def test_impression_adds_to_a_findings_range(lab):
    # what the range leaves out (the disc), the Impression adds; an ungraded range finding takes its grade
    r = lab.label(
        "FINDINGS:\nL1-2 through L3-4: Foraminal narrowing.\n\n"
        "IMPRESSION:\nMild L2-3 foraminal narrowing and a small L2-3 disc bulge."
    )
    assert found(r) == {
        "L1-L2": "lf=unspecified rf=unspecified",
        "L2-L3": "d=bulge lf=mild rf=mild",
        "L3-L4": "lf=unspecified rf=unspecified",
    }


def test_whole_spine_findings_yield_to_a_level_specific_impression(lab):
    # near miss: a whole-spine statement is not about the level in particular
    r = lab.label(
        "FINDINGS:\nMild foraminal narrowing at all levels.\n\n"
        "IMPRESSION:\nModerate L4-5 foraminal narrowing."
    )
    assert found(r)["L4-L5"] == "lf=moderate rf=moderate"
