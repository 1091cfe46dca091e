"""Guide v1.2, level side: spellings, lists and ranges, listhesis and single-vertebra levels,
unlevelled sentences (paragraphs), whole-spine vs multilevel statements, imaging findings only."""

import pytest

from spine.labels import LEVELS
from tests.nlp.conftest import found, level

ALL = dict.fromkeys(LEVELS)


# --------------------------------------------------------------------------
# 1. Level spellings, lists, ranges

L4_L5_SPELLINGS = [
    "L4 to L5",
    "L4 to 5",
    "L45",
    "L4 5",
    "L-4-L-5",
    "L-4/5",
    "L4-L 5",
    "L4 L5",
    "L4 through L5",
]
L5_S1_SPELLINGS = ["L5-S 1", "L5-1", "L5/Sl", "L5 S1", "L5/1"]


@pytest.mark.parametrize("spelling", L4_L5_SPELLINGS)
def test_v12_spellings_l4_l5(lab, spelling):
    assert found(lab.label(f"{spelling}: Small disc bulge.")) == {"L4-L5": "d=bulge"}
    assert found(lab.label(f"There is a small disc bulge at {spelling}.")) == {"L4-L5": "d=bulge"}


@pytest.mark.parametrize("spelling", L5_S1_SPELLINGS)
def test_v12_spellings_l5_s1(lab, spelling):
    assert found(lab.label(f"{spelling}: Small disc bulge.")) == {"L5-S1": "d=bulge"}


def test_worked_example_l4_to_5(lab):
    r = lab.label(
        "L4 to 5: Diffuse bulge; the posterolateral components efface the perineural fat in both "
        "foramina."
    )
    assert found(r) == {"L4-L5": "d=bulge lf=unspecified rf=unspecified"}
    assert level(r, "L4-L5").canal_class == 1


@pytest.mark.parametrize(
    "text,levels",
    [
        ("Small disc bulges at L3/4 and L4/5.", ["L3-L4", "L4-L5"]),
        ("Small disc bulges at L1/2, L2/3, L3/4.", ["L1-L2", "L2-L3", "L3-L4"]),
        ("L3/4 and L4/5: small disc bulges.", ["L3-L4", "L4-L5"]),
        ("Small disc bulges at L3 L4 and L4 L5.", ["L3-L4", "L4-L5"]),
        ("Small disc bulges at L2-3, L3-4 as well as L5-S1.", ["L2-L3", "L3-L4", "L5-S1"]),
        # shorthand after the first level
        ("Small disc bulges at L3-4, 4-5 and 5-S1.", ["L3-L4", "L4-L5", "L5-S1"]),
        ("Small disc bulges from L1-2 through 3-4.", ["L1-L2", "L2-L3", "L3-L4"]),
        ("Small disc bulges at L4-5 and 5-6.", ["L4-L5"]),
    ],
)
def test_lists_share_findings(lab, text, levels):
    assert found(lab.label(text)) == dict.fromkeys(levels, "d=bulge")


@pytest.mark.parametrize(
    "text,levels",
    [
        ("T12-L1 through L2-L3: small disc bulges.", ["L1-L2", "L2-L3"]),
        ("Small disc bulges from T11-12 to L2-3.", ["L1-L2", "L2-L3"]),
        ("Small disc bulges from L4-5 through S1-S2.", ["L4-L5", "L5-S1"]),
        ("Small disc bulges L1-2 to L3-4.", ["L1-L2", "L2-L3", "L3-L4"]),
        # a range of vertebrae covers the discs between them
        ("Small disc bulges from L2 to L5.", ["L2-L3", "L3-L4", "L4-L5"]),
        ("Small disc bulges from L3 through S1.", ["L3-L4", "L4-L5", "L5-S1"]),
    ],
)
def test_ranges_including_outside_ends(lab, text, levels):
    assert found(lab.label(text)) == dict.fromkeys(levels, "d=bulge")


def test_worked_example_range_from_t12_l1(lab):
    # (the guide's "T12-L1 through L2-3: Mild facet arthropathy without ..." sentence, with the
    # level side only: its grade word before "without" is a findings-side matter)
    r = lab.label(
        "Mild central canal stenosis at every level.\n"
        "T12-L1 through L2-3: Facet arthropathy without canal or foraminal stenosis."
    )
    assert [lv.canal_stenosis for lv in r.levels] == ["none", "none", "mild", "mild", "mild"]


@pytest.mark.parametrize(
    "text",
    [
        "Hemangioma in L4 5 mm in size. Small disc bulge.",
        "The L4 5 mm hemangioma is stable. Small disc bulge.",
        "Schmorl node in L5 1 cm. Small disc bulge.",
        "Schmorl node at L5 1. Small disc bulge.",
        "Schmorl node at L3 4 x 5 mm. Small disc bulge.",
        "The cyst grew from L4 to 5 mm. Small disc bulge.",
    ],
)
def test_measurements_are_not_levels(lab, text):
    assert found(lab.label(text)) == {}


def test_shorthand_list_stops_at_a_measurement(lab):
    assert found(lab.label("Small disc bulge at L3-4, 4-5 mm in size.")) == {"L3-L4": "d=bulge"}


@pytest.mark.parametrize(
    "text",
    [
        "C5-6: large disc herniation.",
        "T7-8: large disc herniation.",
        "T12-L1: large disc herniation.",
        "T11-T12: large disc herniation.",
        "S1-S2: large disc herniation.",
        "L5-L6: large disc herniation.",
        "Transitional L5-6 disc herniation.",
    ],
)
def test_outside_schema_levels_give_nothing(lab, text):
    assert found(lab.label(text)) == {}


@pytest.mark.parametrize("outside", ["S1-S2", "T12-L1", "T11-12", "L5-L6", "C5-6"])
def test_outside_schema_level_stops_the_carried_level(lab, outside):
    r = lab.label(
        f"L5-S1: Small disc bulge. {outside}: Large disc extrusion. Severe canal stenosis."
    )
    assert found(r) == {"L5-S1": "d=bulge"}


def test_sequence_names_are_not_levels(lab):
    r = lab.label("L4-5: Small disc bulge. Sagittal T1/T2 images show mild central canal stenosis.")
    assert found(r) == {"L4-L5": "d=bulge c=mild"}


# --------------------------------------------------------------------------
# 2. Listhesis and single-vertebra levels


def test_worked_example_listhesis_level(lab):
    r = lab.label(
        "Grade 1 anterolisthesis of L5 on S1. Mild left and moderate right foraminal narrowing."
    )
    assert found(r) == {"L5-S1": "lf=mild rf=moderate"}
    assert level(r, "L5-S1").canal_class == 0


@pytest.mark.parametrize(
    "text,lvl",
    [
        ("Grade 1 retrolisthesis of L4 on L5 with mild central canal stenosis.", "L4-L5"),
        ("Spondylolisthesis of L4 on L5 with mild central canal stenosis.", "L4-L5"),
        ("L3 on L4 anterolisthesis with mild central canal stenosis.", "L3-L4"),
        ("Grade 1 anterolisthesis of L4 with mild central canal stenosis.", "L4-L5"),
        ("L5 spondylolisthesis with mild central canal stenosis.", "L5-S1"),
        (
            "Bilateral L5 pars defects with grade 1 anterolisthesis and mild central canal stenosis.",
            "L5-S1",
        ),
    ],
)
def test_listhesis_names_the_disc_between(lab, text, lvl):
    assert found(lab.label(text)) == {lvl: "c=mild"}


def test_listhesis_is_a_level_mention_for_carrying(lab):
    r = lab.label(
        "L3-4: Small disc bulge. There is grade 1 anterolisthesis of L4 on L5. "
        "Mild central canal stenosis."
    )
    assert found(r) == {"L3-L4": "d=bulge", "L4-L5": "c=mild"}


def test_two_listheses_are_a_list(lab):
    r = lab.label("Anterolisthesis of L4 on L5 and L5 on S1 with severe central canal stenosis.")
    assert found(r) == {"L4-L5": "c=severe", "L5-S1": "c=severe"}


@pytest.mark.parametrize(
    "text,lvl",
    [
        ("Disc protrusion at L4.", "L4-L5"),
        ("The L4 disc is herniated.", "L4-L5"),
        ("Herniation of the L5 disc.", "L5-S1"),
        ("A small protrusion is seen at the L3 level.", "L3-L4"),
        ("At L4, there is a small disc protrusion.", "L4-L5"),
        ("L2 disc protrusion.", "L2-L3"),
    ],
)
def test_disc_at_a_single_vertebra_is_the_disc_below(lab, text, lvl):
    assert found(lab.label(text)) == {lvl: "d=herniation"}


@pytest.mark.parametrize(
    "text",
    [
        "The conus ends at L1. Mild central canal stenosis.",
        "The conus medullaris terminates at the L1 level. Small disc bulge.",
        "The L5 nerve root is normal. Small disc bulge.",
        "L5 pars defect. Small disc bulge.",
        "Hemangioma in L3. Small disc bulge.",
        "Small disc bulge and hemangioma in L3.",
        "Modic type 2 change in the L4 vertebral body. Small disc bulge.",
    ],
)
def test_single_vertebra_elsewhere_is_no_level(lab, text):
    assert found(lab.label(text)) == {}


def test_single_vertebra_elsewhere_keeps_the_carried_level(lab):
    r = lab.label("L4-5: Small disc bulge. Hemangioma in L3. Mild central canal stenosis.")
    assert found(r) == {"L4-L5": "d=bulge c=mild"}


def test_root_named_by_number_is_not_a_level(lab):
    r = lab.label(
        "L4-5: Left paracentral protrusion. It contacts the traversing left L5 nerve root. "
        "Mild central canal stenosis."
    )
    assert found(r) == {"L4-L5": "d=herniation c=mild ls=unspecified"}


# --------------------------------------------------------------------------
# 3. Sentences without a level


def test_unlevelled_sentence_takes_the_level_before_it_in_the_paragraph(lab):
    r = lab.label(
        "L4-5: Small disc bulge.\nMild central canal stenosis.\n\nModerate foraminal narrowing."
    )
    assert found(r) == {"L4-L5": "d=bulge c=mild"}


def test_unlevelled_sentence_before_any_level_has_none(lab):
    assert found(lab.label("Mild central canal stenosis. L4-5: Small disc bulge.")) == {
        "L4-L5": "d=bulge"
    }


@pytest.mark.parametrize(
    "text",
    [
        "IMPRESSION: Mild foraminal narrowing.",
        "FINDINGS:\nL4-5: Small disc bulge.\n\nIMPRESSION:\nMild foraminal narrowing.",
        "IMPRESSION:\n1. L4-5 small disc bulge.\n2. Mild foraminal narrowing.",
        "IMPRESSION: 1. L4-5 small disc bulge. 2. Mild foraminal narrowing.",
        "IMPRESSION:\n- L4-5 small disc bulge.\n- Mild foraminal narrowing.",
    ],
)
def test_section_or_item_naming_no_level_gives_no_level(lab, text):
    assert {k: v for k, v in found(lab.label(text)).items() if "f=" in v} == {}


def test_wrapped_item_keeps_its_level(lab):
    r = lab.label(
        "IMPRESSION:\n1. L4-5 small disc bulge with\n   mild central canal stenosis.\n"
        "2. Mild foraminal narrowing."
    )
    assert found(r) == {"L4-L5": "d=bulge c=mild"}


def test_items_under_a_level_heading_keep_its_level(lab):
    r = lab.label(
        "L4-5:\n- Small disc bulge.\n- Mild central canal stenosis.\n\nL5-S1:\n- Small protrusion."
    )
    assert found(r) == {"L4-L5": "d=bulge c=mild", "L5-S1": "d=herniation"}
    r = lab.label(
        "L4-5: Small disc bulge with:\n- mild central canal stenosis\n- moderate left foraminal "
        "narrowing"
    )
    assert found(r) == {"L4-L5": "d=bulge c=mild lf=moderate"}


def test_this_level_points_back_across_a_blank_line(lab):
    r = lab.label("L4-5: Small disc bulge.\n\nMild central canal stenosis at this level.")
    assert found(r) == {"L4-L5": "d=bulge c=mild"}


# --------------------------------------------------------------------------
# 4. Whole-spine vs multilevel statements


@pytest.mark.parametrize(
    "text",
    [
        "Small disc bulges throughout the lumbar spine.",
        "Small disc bulges at all lumbar levels.",
        "Small disc bulges at every level.",
        "The lumbar discs bulge diffusely.",
        "Diffusely bulging lumbar discs.",
    ],
)
def test_whole_spine_statements_cover_all_levels(lab, text):
    assert found(lab.label(text)) == dict.fromkeys(LEVELS, "d=bulge")


def test_diffuse_bulge_at_one_level_is_that_level(lab):
    assert found(lab.label("L4-5: Diffuse disc bulge. Mild central canal stenosis.")) == {
        "L4-L5": "d=bulge c=mild"
    }
    assert found(lab.label("L4-5: The disc bulges diffusely.")) == {"L4-L5": "d=bulge"}


@pytest.mark.parametrize(
    "vague",
    [
        "Multilevel foraminal narrowing.",
        "Multi-level foraminal narrowing.",
        "Foraminal narrowing at several levels.",
        "Foraminal narrowing at multiple levels.",
        "Scattered foraminal narrowing.",
        "Foraminal narrowing in the lower lumbar spine.",
    ],
)
def test_multilevel_statements_give_no_level_and_do_not_take_the_carried_one(lab, vague):
    assert found(lab.label(vague)) == {}
    assert found(lab.label(f"L4-5: Small protrusion. {vague}")) == {"L4-L5": "d=herniation"}


def test_multilevel_statement_does_not_break_the_carried_level(lab):
    r = lab.label(
        "L4-5: Small protrusion. Multilevel facet arthropathy. Mild central canal stenosis."
    )
    assert found(r) == {"L4-L5": "d=herniation c=mild"}


def test_multilevel_with_named_levels_uses_them(lab):
    r = lab.label("Multilevel disc bulges, most pronounced at L4-5 and L5-S1.")
    assert found(r) == {"L4-L5": "d=bulge", "L5-S1": "d=bulge"}


# --------------------------------------------------------------------------
# 5. Imaging findings only


@pytest.mark.parametrize(
    "text",
    [
        "History of L4-5 spinal stenosis.",
        "Evaluate for L4-5 herniation.",
        "Low back pain, r/o L4-5 HNP.",
        "Back pain. Rule out L4-5 disc herniation.",
        "S/p L4-5 discectomy.",
        "Known L4-5 HNP.",
        "Referred with L4-5 disc herniation.",
        "Patient referred with left leg pain and known L4-5 disc herniation.",
        "52-year-old man with L4-5 disc herniation.",
        "INDICATION: history of L4-5 spinal stenosis, evaluate for herniation.\nFINDINGS:\nL3-4: Normal.",
    ],
)
def test_history_indication_never_give_a_finding(lab, text):
    assert found(lab.label(text)) == {}


@pytest.mark.parametrize(
    "text,want",
    [
        ("The known L4-5 extrusion is unchanged.", {"L4-L5": "d=herniation"}),
        (
            "L4-5: Status post laminectomy with recurrent right paracentral herniation.",
            {"L4-L5": "d=herniation"},
        ),
        ("L4-5: Cannot rule out a small protrusion.", {"L4-L5": "unc"}),
    ],
)
def test_findings_that_look_like_history_still_count(lab, text, want):
    assert found(lab.label(text)) == want


@pytest.mark.parametrize("header", ["History", "CLINICAL HISTORY", "Indication", "Comparison"])
def test_clinical_header_line_ends_before_headerless_findings(lab, header):
    r = lab.label(
        f"MRI LUMBAR SPINE\n{header}: Back pain.\nL4-5: Small protrusion. Mild canal stenosis."
    )
    assert found(r) == {"L4-L5": "d=herniation c=mild"}
    r = lab.label(f"{header}:\nBack pain, evaluate for herniation.\n\nL4-5: Small protrusion.")
    assert found(r) == {"L4-L5": "d=herniation"}


def test_one_line_clinical_section_ends_at_its_line(lab):
    r = lab.label(
        "EXAM: MRI lumbar spine.\nHISTORY: Back pain.\nThere is a disc bulge at L4-5 with mild canal "
        "stenosis."
    )
    assert found(r) == {"L4-L5": "d=bulge c=mild"}
    # a wrapped indication goes on to the next line
    r = lab.label(
        "INDICATION: Back pain radiating to the left leg, r/o\nL4-5 herniation.\nL3-4: Small bulge."
    )
    assert found(r) == {"L3-L4": "d=bulge"}


LETTER = """Dear Dr Smith,

Thank you for referring this 45-year-old man with left leg pain. He has a history of spinal stenosis and \
had an L5-S1 discectomy in 2015.

On examination he has weakness of left ankle dorsiflexion. Straight leg raise is positive on the left.

MRI of [date] shows a large left paracentral disc extrusion at L4-5 compressing the traversing left L5 nerve \
root. There is moderate central canal stenosis. He is keen to proceed with surgery for his herniation.

Assessment: L4-5 disc herniation with severe foraminal stenosis on the right.

Plan: L4-5 microdiscectomy. Repeat MRI to evaluate for recurrent herniation at L5-S1.

Yours sincerely,
"""

CONSULT = """HPI: 60 yo woman with neurogenic claudication. Prior MRI reported severe L3-4 stenosis.

PHYSICAL EXAM: Normal gait. Mild L5 weakness.

IMAGING: MRI lumbar spine [date]: L4-5 broad-based bulge with moderate canal stenosis. L5-S1 mild \
bilateral foraminal narrowing.

ASSESSMENT AND PLAN: Severe lumbar stenosis at L2-3. Refer for epidural injection.
"""

PROGRESS = """Progress note

Subjective: Ongoing left leg pain. Known L2-3 HNP.

MRI lumbar spine [date] report:

L3-4: Mild disc bulge.

L4-5: Left paracentral protrusion with moderate left lateral recess stenosis.

Plan: Refer to spine surgery. She wishes to avoid surgery for the L5-S1 herniation.
"""


@pytest.mark.parametrize(
    "text,want",
    [
        (LETTER, {"L4-L5": "d=herniation c=moderate ls=unspecified"}),
        (CONSULT, {"L4-L5": "d=bulge c=moderate", "L5-S1": "lf=mild rf=mild"}),
        (PROGRESS, {"L3-L4": "d=bulge", "L4-L5": "d=herniation ls=moderate"}),
    ],
)
def test_clinic_note_counts_only_the_imaging(lab, text, want):
    assert found(lab.label(text)) == want


def test_clinic_note_impression_of_the_clinician_is_not_imaging(lab):
    note = (
        "CHIEF COMPLAINT: back pain.\n\nIMPRESSION: L4-5 disc herniation with radiculopathy.\n\n"
        "PLAN: Physiotherapy."
    )
    assert found(lab.label(note)) == {}
    # ... but the MRI quoted in it is
    note = (
        "CHIEF COMPLAINT: back pain.\n\nIMPRESSION: The MRI shows an L4-5 disc herniation.\n\n"
        "PLAN: Physiotherapy."
    )
    assert found(lab.label(note)) == {"L4-L5": "d=herniation"}
    # an IMAGING section does not make the clinician's IMPRESSION after it a radiology impression
    note = "HPI: back pain.\n\nIMAGING: MRI shows an L4-5 bulge.\n\nIMPRESSION: L3-4 herniation.\n\nPLAN: PT."
    assert found(lab.label(note)) == {"L4-L5": "d=bulge"}


@pytest.mark.parametrize(
    "line",
    [
        "MRI L-spine [date] – L4-5 protrusion with mild canal stenosis.",
        "He had an MRI: L4-5 protrusion with mild canal stenosis.",
        "On MRI there is an L4-5 protrusion with mild canal stenosis.",
        "His lumbar MRI from [date] revealed an L4-5 protrusion with mild canal stenosis.",
        "Imaging reviewed: L4-5 protrusion with mild canal stenosis.",
    ],
)
def test_clinic_note_sentence_attributed_to_the_mri(lab, line):
    note = f"Progress note\n{line}\nHe has an L3-4 herniation and L2-3 canal stenosis clinically.\nPlan: PT"
    assert found(lab.label(note)) == {"L4-L5": "d=herniation c=mild"}


def test_clinic_note_mr_is_imaging_but_mr_jones_is_not(lab):
    note = (
        "Dear Dr X,\n\nMr Jones reports his L4-5 disc herniation is painful.\n\n"
        "MR lumbar spine [date] shows an L3-4 protrusion."
    )
    assert found(lab.label(note)) == {"L3-L4": "d=herniation"}


def test_clinic_note_quoting_a_radiology_report(lab):
    note = (
        "HPI: back pain.\n\nMRI report:\nFINDINGS: L4-5 bulge.\nIMPRESSION: L4-5 bulge with mild L3-4 canal "
        "stenosis.\n\nPLAN: PT."
    )
    assert found(lab.label(note)) == {"L3-L4": "c=mild", "L4-L5": "d=bulge"}
    letter = (
        "Dear Dr Jones,\n\nThank you for referring Mrs X.\n\nL3-4: Mild bulge.\nL4-5: Moderate canal "
        "stenosis. Small protrusion.\n\nKind regards"
    )
    assert found(lab.label(letter)) == {"L3-L4": "d=bulge", "L4-L5": "d=herniation c=moderate"}


RADIOLOGY = """EXAMINATION: MRI lumbar spine without contrast.

CLINICAL HISTORY: 45-year-old with history of spinal stenosis. Evaluate for herniation.

COMPARISON: Prior MRI showed an L2-3 protrusion.

FINDINGS:
L3-4: Mild disc bulge.
L4-5: Broad-based protrusion with moderate central canal stenosis.

IMPRESSION:
1. L4-5 protrusion with moderate canal stenosis.
2. Assessment of the L5-S1 level is limited by motion.
"""


def test_radiology_report_unaffected(lab):
    assert found(lab.label(RADIOLOGY)) == {"L3-L4": "d=bulge", "L4-L5": "d=herniation c=moderate"}
    # with an ASSESSMENT header instead of IMPRESSION (a radiology report, not a clinic note)
    r = lab.label("FINDINGS: L4-5: Small protrusion.\nASSESSMENT: Mild L3-4 canal stenosis.")
    assert found(r) == {"L3-L4": "c=mild", "L4-L5": "d=herniation"}


@pytest.mark.parametrize(
    "text,flagged",
    [
        ("T12-L1: large disc herniation.", True),
        ("Multilevel disc bulges.", True),
        ("Disc protrusion at L4.", False),
    ],
)
def test_no_level_error_ignores_levels_outside_the_schema(lab, text, flagged):
    assert ("no lumbar disc level mentioned" in lab.label(text).errors) is flagged
