"""Guide v1.2, round 3: what part C of the corpus (first scored as held out, then read for
its errors) showed the labeller missing: SCS, "nil", dictated lines with no full stops,
speech-recognition homophones, "central and foraminal", "SI" for S1 in capitals, and a
radiologist quoted in a clinic letter. Near misses keep each rule from over-reaching."""

import pytest

from tests.nlp.conftest import found

# --------------------------------------------------------------------------
# SCS: spinal canal stenosis (the abbreviation names the place and the stenosis)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5: Mild SCS.", "c=mild"),
        (
            "L4-5: Central protrusion effacing the thecal sac, moderate SCS.",
            "d=herniation c=moderate",
        ),
        ("L4-5: No SCS or NFN.", None),
        ("L4-5: Severe SCS. Mod B/L NFN.", "c=severe lf=moderate rf=moderate"),
    ],
)
def test_scs_is_spinal_canal_stenosis(lab, text, expected):
    assert found(lab.label(text)).get("L4-L5") == expected


def test_scs_inside_a_word_is_not_stenosis(lab):
    assert found(
        lab.label("L4-5: Mild disc bulge. Discs are normal otherwise (scsi artefact).")
    ) == {"L4-L5": "d=bulge"}


# --------------------------------------------------------------------------
# "Nil": a negation in British and Australian reports


@pytest.mark.parametrize(
    "text",
    [
        "L3/4: Mild disc bulge. Nil canal or foraminal stenosis.",
        "L3/4: Mild disc bulge. Nil stenosis.",
        "L3/4: Mild disc bulge. Nil neural compromise.",
    ],
)
def test_nil_negates(lab, text):
    assert found(lab.label(text)) == {"L3-L4": "d=bulge"}


def test_nil_negates_only_what_follows(lab):
    r = lab.label("L3/4: Moderate canal stenosis. Nil foraminal stenosis.")
    assert found(r) == {"L3-L4": "c=moderate"}


# --------------------------------------------------------------------------
# Dictated lines: one level per line, no full stops


def test_unpunctuated_dictated_lines_are_sentences_of_their_own(lab):
    r = lab.label(
        "FINDINGS\nL1 2 no stenosis\nL2 3 mild central canal stenosis\n"
        "L3 4 moderate central canal stenosis\nL4 5 normal"
    )
    assert found(r) == {"L2-L3": "c=mild", "L3-L4": "c=moderate"}


def test_a_hedge_on_one_dictated_line_stays_on_it(lab):
    r = lab.label(
        "FINDINGS\nL4 5 small right paracentral protrusion no stenosis\n"
        "L5 S1 mild disc bulge a tiny left paracentral protrusion cannot be excluded"
    )
    assert found(r) == {"L4-L5": "d=herniation", "L5-S1": "d=bulge unc"}


@pytest.mark.parametrize("joint", ["at", "and", "of", "involving", "between"])
def test_a_line_broken_inside_a_sentence_goes_on(lab, joint):
    # near miss: a hard-wrapped line that ends in a word the sentence needs goes on
    r = lab.label(
        f"FINDINGS: MODERATE CENTRAL CANAL STENOSIS {joint.upper()}\nL4-5 WITH A DISC BULGE."
    )
    assert found(r)["L4-L5"].startswith("d=bulge c=moderate")


# --------------------------------------------------------------------------
# Speech recognition's homophones


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # unsided "narrowing" alone would be the canal's; the foramen's is on both sides
        ("L3 4 mild for a minimal narrowing.", "lf=mild rf=mild"),
        ("L3 4 mild for aminal narrowing.", "lf=mild rf=mild"),
        # unsided recess narrowing would take the protrusion's side; "bilateral" names both
        (
            "L3 4 left paracentral protrusion with by lateral lateral recess narrowing.",
            "d=herniation ls=unspecified rs=unspecified",
        ),
        ("L3 4 desk osteophyte complex.", "d=bulge"),
    ],
)
def test_speech_recognition_homophones_read_as_meant(lab, text, expected):
    assert found(lab.label(text)) == {"L3-L4": expected}


def test_para_central_is_a_disc_location_not_the_canal(lab):
    r = lab.label("L4-5: Right para central and foraminal narrowing.")
    assert found(r) == {"L4-L5": "lf=unspecified rf=unspecified"}


def test_homophone_evidence_points_at_the_words_written(lab):
    text = "L3 4 mild left for a minimal narrowing."
    r = lab.label(text)
    (ev,) = [e for e in r.evidence[2] if e["field"] == "left_foraminal"]
    assert text[ev["start"] : ev["end"]].lower().endswith("for a minimal narrowing")


def test_a_homophone_across_a_line_break(lab):
    assert found(lab.label("L3 4 mild for a\nminimal narrowing.")) == {"L3-L4": "lf=mild rf=mild"}


# --------------------------------------------------------------------------
# "Mild central and ... foraminal stenosis": central shares the stenosis word


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "L4-L5: Disc bulge. Mild central and mild bilateral foraminal stenosis.",
            "d=bulge c=mild lf=mild rf=mild",
        ),
        (
            "L4-L5: Disc bulge. Moderate central and left foraminal narrowing.",
            "d=bulge c=moderate lf=moderate",
        ),
        (
            "L4-L5: Disc bulge. Central and foraminal stenosis.",
            "d=bulge c=unspecified lf=unspecified rf=unspecified",
        ),
    ],
)
def test_central_and_foraminal_share_the_stenosis(lab, text, expected):
    assert found(lab.label(text)) == {"L4-L5": expected}


def test_a_central_protrusion_and_foraminal_narrowing_is_no_canal_stenosis(lab):
    # near miss: "central" describes the protrusion, not a place that is narrowed
    r = lab.label("L4-L5: Central protrusion and mild foraminal narrowing.")
    assert found(r) == {"L4-L5": "d=herniation lf=mild rf=mild"}


# --------------------------------------------------------------------------
# "L5-SI": a capital I for the 1 of S1 in capitals text


def test_s_capital_i_is_s1(lab):
    r = lab.label(
        "AT L5-SI THERE IS A LEFT PARACENTRAL DISC PROTRUSION. MILD LEFT FORAMINAL NARROWING."
    )
    assert found(r) == {"L5-S1": "d=herniation lf=mild"}


def test_si_joints_name_no_level(lab):
    r = lab.label("L4-5: Disc bulge. The SI joints are normal. Mild SI joint arthropathy.")
    assert found(r) == {"L4-L5": "d=bulge"}


# --------------------------------------------------------------------------
# A clinic letter quoting the radiologist


def test_a_quoted_radiologist_reports_the_imaging(lab):
    r = lab.label(
        'Dear Dr Smith,\n\nI reviewed this teacher today. The radiologist reports a "small left '
        'paracentral disc protrusion at L4/5 with mild narrowing of the left lateral recess".\n\n'
        "Yours sincerely,\nSpinal Surgeon"
    )
    assert found(r) == {"L4-L5": "d=herniation ls=mild"}


def test_the_radiologist_in_the_plan_reports_nothing(lab):
    # near miss: a plan that mentions the radiologist is not imaging
    r = lab.label(
        "Dear Dr Smith,\n\nShe has back pain. I will ask the radiologist to add a view; "
        "I suspect an L4/5 disc protrusion.\n\nYours sincerely,\nSpinal Surgeon"
    )
    assert found(r) == {}


@pytest.mark.parametrize(
    "wording", ["disc-osteophyte bar", "disc osteophyte ridge", "disk-osteophyte bars"]
)
def test_disc_osteophyte_bars_and_ridges_are_bulges(lab, wording):
    assert found(lab.label(f"L4-5: Broad {wording}. No stenosis.")) == {"L4-L5": "d=bulge"}


def test_a_letter_sentence_opening_with_a_level_and_a_verb_reports_the_imaging(lab):
    r = lab.label(
        "Dear Dr Smith,\n\nI saw him with his MRI. He walks 200 metres. The MRI shows moderate canal "
        "stenosis at L4/5. I suspect his pain is from the hip. L3/4 shows mild central stenosis. "
        "L5/S1 is degenerate with a disc bulge but no stenosis.\n\nYours sincerely,\nSpinal Surgeon"
    )
    assert found(r) == {"L3-L4": "c=mild", "L4-L5": "c=moderate", "L5-S1": "d=bulge"}


def test_a_letter_sentence_naming_a_level_in_the_plan_reports_nothing(lab):
    # near miss: the level opens no imaging statement
    r = lab.label(
        "Dear Dr Smith,\n\nHe has back pain. I have offered him an L4/5 decompression for his canal "
        "stenosis.\n\nYours sincerely,\nSpinal Surgeon"
    )
    assert found(r) == {}
