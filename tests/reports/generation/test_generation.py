"""Decision tables, sentences and Impression of the report writer (reports.generation)."""

from __future__ import annotations

import subprocess
import sys
from itertools import product
from pathlib import Path

import pytest

from reports.generation import (
    BestImage,
    GeneratedReport,
    LevelFinding,
    generate_report,
    level_sentence,
)
from reports.generation import tables as t
from reports.generation.writer import impression_line, is_significant, pair_sentences
from spine.labels import GRADES, LEVELS, LevelLabels

ROOT = Path(__file__).resolve().parents[3]


def L(level="L4-L5", **fields) -> LevelLabels:
    return LevelLabels(level=level, **fields)


def normal_study(**overrides: LevelLabels) -> list[LevelFinding]:
    return [LevelFinding(overrides.get(lv.replace("-", "_"), L(lv))) for lv in LEVELS]


def test_package_is_pure_python():
    code = (
        "import sys, reports.generation; "
        "sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr or "reports.generation imported Django"


# ---- decision tables ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right", "case"),
    [
        ("none", "none", "both_none"),
        ("mild", "mild", "same"),
        ("unspecified", "unspecified", "same"),
        ("severe", "none", "left_only"),
        ("none", "unspecified", "right_only"),
        ("mild", "severe", "different"),
        ("unspecified", "moderate", "different"),
    ],
)
def test_pair_case(left, right, case):
    assert t.pair_case(left, right) == case


def test_pair_case_mirrors_left_and_right():
    mirror = {"left_only": "right_only", "right_only": "left_only"}
    for left, right in product(GRADES, GRADES):
        a, b = t.pair_case(left, right), t.pair_case(right, left)
        assert b == mirror.get(a, a)


@pytest.mark.parametrize(
    ("grade", "kind"),
    [
        ("none", "none"),
        ("unspecified", "unspecified"),
        ("mild", "graded"),
        ("moderate", "graded"),
        ("severe", "graded"),
    ],
)
def test_canal_kind(grade, kind):
    assert t.canal_kind(grade) == kind


def test_every_table_row_is_reachable():
    assert {t.pair_case(a, b) for a, b in product(GRADES, GRADES)} == set(t.PAIR_SENTENCES)
    assert set(t.PAIR_SENTENCES) == set(t.IMPRESSION_PAIR)
    assert {
        (d != "none", t.canal_kind(c)) for d in ("none", "bulge", "herniation") for c in GRADES
    } == set(t.DISC_CANAL)
    assert set(t.GRADE_PREFIX) == set(GRADES) - {"none"}


def test_grade_words_are_the_guides_grades():
    for grade in ("mild", "moderate", "severe"):
        assert t.GRADE_PREFIX[grade].strip() == grade
    assert t.GRADE_PREFIX["unspecified"] == ""


@pytest.mark.parametrize(
    ("disc", "canal", "expected"),
    [
        (
            "herniation",
            "unspecified",
            "There is posterior disc herniation of the intervertebral disc impinging on the thecal sac.",
        ),
        (
            "bulge",
            "none",
            "There is posterior disc bulge of the intervertebral disc without spinal canal stenosis.",
        ),
        (
            "bulge",
            "severe",
            "There is posterior disc bulge of the intervertebral disc impinging on the "
            "thecal sac with severe spinal canal stenosis.",
        ),
        (
            "none",
            "moderate",
            "No disc bulge or herniation is seen. There is moderate narrowing of the spinal canal.",
        ),
        (
            "none",
            "unspecified",
            "No disc bulge or herniation is seen. There is narrowing of the spinal canal.",
        ),
    ],
)
def test_disc_canal_sentence(disc, canal, expected):
    # A foraminal finding keeps the level abnormal so the disc/canal row is used.
    s = level_sentence(LevelFinding(L(disc=disc, canal_stenosis=canal, left_foraminal="mild")))
    assert s.startswith(expected + " ")


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("none", "none", ("The neural foramina are patent.",)),
        (
            "moderate",
            "moderate",
            ("There is moderate narrowing of the left and right neural foramina.",),
        ),
        (
            "unspecified",
            "unspecified",
            ("There is narrowing of the left and right neural foramina.",),
        ),
        (
            "none",
            "unspecified",
            (
                "There is narrowing of the right neural foramen.",
                "The left neural foramen is patent.",
            ),
        ),
        (
            "severe",
            "none",
            (
                "There is severe narrowing of the left neural foramen.",
                "The right neural foramen is patent.",
            ),
        ),
        (
            "mild",
            "severe",
            (
                "There is mild narrowing of the left neural foramen.",
                "There is severe narrowing of the right neural foramen.",
            ),
        ),
    ],
)
def test_foraminal_sentences(left, right, expected):
    assert pair_sentences(L(left_foraminal=left, right_foraminal=right), "foraminal") == expected


def test_subarticular_sentences():
    assert pair_sentences(
        L(left_subarticular="mild", right_subarticular="unspecified"), "subarticular"
    ) == (
        "There is mild narrowing of the left lateral recess.",
        "There is narrowing of the right lateral recess.",
    )
    assert pair_sentences(L(), "subarticular") == ("The lateral recesses are patent.",)


# ---- level sentence -----------------------------------------------------------------------


def test_paper_example_sentence():
    finding = LevelFinding(
        L(disc="herniation", canal_stenosis="unspecified", right_foraminal="unspecified"),
        ap_diameter_mm=12.7,
        best_image=BestImage("sagittal", "T2", 9),
    )
    assert (
        "There is posterior disc herniation of the intervertebral disc impinging on the thecal sac. "
        "The spinal canal midline AP diameter is 12.7 mm. This is best seen on T2 sagittal image 9. "
        "There is narrowing of the right neural foramen."
    ) in level_sentence(finding)


def test_normal_level_is_the_papers_sentence():
    assert level_sentence(LevelFinding(L())) == (
        "No disc herniation, neurocompression, or neuroforaminal stenosis is seen at this level."
    )
    s = level_sentence(LevelFinding(L(), 14.24, BestImage("axial", "T1", 3)))
    assert s.endswith(
        " The spinal canal midline AP diameter is 14.2 mm. "
        "This level is best seen on T1 axial image 3."
    )


def test_abnormal_level_states_every_structure():
    s = level_sentence(LevelFinding(L(disc="bulge")))
    assert "spinal canal stenosis" in s and "neural foramina are patent" in s
    assert "lateral recesses are patent" in s


@pytest.mark.parametrize(
    "bad",
    [
        LevelFinding(L(disc="herniation", uncertain=True)),
        LevelFinding(L(), ap_diameter_mm=-1.0),
        LevelFinding(L(), ap_diameter_mm=float("nan")),
        LevelFinding(L(), ap_diameter_mm=0),
    ],
)
def test_rejects_findings_it_cannot_state(bad):
    with pytest.raises(ValueError):
        level_sentence(bad)
    with pytest.raises(ValueError):
        generate_report([bad])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"plane": "coronal", "weighting": "T2", "instance_number": 3},
        {"plane": "axial", "weighting": "STIR", "instance_number": 3},
        {"plane": "axial", "weighting": "T2", "instance_number": 0},
        {"plane": "axial", "weighting": "T2", "instance_number": 2.5},
    ],
)
def test_best_image_validation(kwargs):
    with pytest.raises(ValueError):
        BestImage(**kwargs)


def test_generate_report_rejects_duplicates_and_nothing():
    with pytest.raises(ValueError):
        generate_report([LevelFinding(L()), LevelFinding(L())])
    with pytest.raises(ValueError):
        generate_report([])


# ---- report and impression -----------------------------------------------------------------


def test_report_layout_and_labels():
    findings = normal_study(
        L4_L5=L(disc="herniation", canal_stenosis="moderate", right_foraminal="mild")
    )
    rep = generate_report(list(reversed(findings)))
    assert [lv for lv, _ in rep.findings] == list(LEVELS)
    text = rep.text()
    assert text.startswith("FINDINGS:\nL1-L2: ")
    head, impression = text.split("\n\nIMPRESSION:\n")
    assert impression == rep.impression
    assert len(head.splitlines()) == 1 + len(LEVELS)
    assert rep.labels()["L4-L5"]["disc"] == "herniation"
    assert rep.labels()["L4-L5"]["canal_class"] == 3
    assert GeneratedReport(findings=rep.findings, impression=rep.impression).labels() == {}


def test_impression_clean_study(lab):
    rep = generate_report(normal_study())
    assert rep.impression == (
        "No disc bulge or herniation and no spinal canal, lateral recess or neural foraminal "
        "stenosis in the lumbar spine."
    )
    assert all(lv == LevelLabels(lv.level) for lv in lab.label(rep.impression).levels)


def test_impression_bulges_only():
    rep = generate_report(
        normal_study(L2_L3=L("L2-L3", disc="bulge"), L3_L4=L("L3-L4", disc="bulge"))
    )
    lines = rep.impression.splitlines()
    assert lines[0].startswith("No disc herniation and no spinal canal")
    assert "bulge" not in lines[0]
    assert lines[1] == "Disc bulges without stenosis at L2-L3 and L3-L4."
    assert len(lines) == 2


def test_impression_lists_significant_levels_in_order():
    rep = generate_report(
        normal_study(
            L5_S1=L("L5-S1", disc="herniation", left_foraminal="severe", right_foraminal="severe"),
            L4_L5=L(
                "L4-L5", disc="herniation", canal_stenosis="moderate", right_foraminal="unspecified"
            ),
            L2_L3=L("L2-L3", disc="bulge"),
            L3_L4=L("L3-L4", left_subarticular="mild"),
        )
    )
    assert rep.impression.splitlines() == [
        "L3-L4: Mild left lateral recess stenosis.",
        "L4-L5: Disc herniation with moderate spinal canal stenosis and right neural foraminal stenosis.",
        "L5-S1: Disc herniation with severe bilateral neural foraminal stenosis.",
        "Disc bulge without stenosis at L2-L3.",
        "No disc bulge, herniation or stenosis at L1-L2.",
    ]


def test_impression_line_mentions_every_present_field_and_no_absent_one():
    for fields in (
        {"disc": "bulge", "canal_stenosis": "mild"},
        {"left_foraminal": "moderate", "right_foraminal": "mild", "right_subarticular": "severe"},
        {"disc": "herniation"},
    ):
        labels = L(**fields)
        line = impression_line(labels)
        assert line.startswith("L4-L5: ")
        assert ("spinal canal" in line) == (labels.canal_stenosis != "none")
        assert ("foraminal" in line) == (
            labels.left_foraminal != "none" or labels.right_foraminal != "none"
        )
        assert ("lateral recess" in line) == (labels.right_subarticular != "none")
        for grade in set(fields.values()) - {"bulge", "herniation"}:
            assert grade in line.lower()


def test_significance():
    assert not is_significant(L())
    assert not is_significant(L(disc="bulge"))
    assert is_significant(L(disc="herniation"))
    assert is_significant(L(disc="bulge", left_subarticular="unspecified"))


def test_unassessed_levels_are_said_so():
    rep = generate_report([LevelFinding(L("L4-L5", disc="herniation")), LevelFinding(L("L5-S1"))])
    assert dict(rep.findings)["L1-L2"] == "Not assessed."
    assert set(rep.labels()) == {"L4-L5", "L5-S1"}
    assert rep.impression.splitlines() == [
        "L4-L5: Disc herniation.",
        "No disc bulge, herniation or stenosis at L5-S1.",
        "Not assessed: L1-L2, L2-L3 and L3-L4.",
    ]
    clean = generate_report([LevelFinding(L("L5-S1"))]).impression.splitlines()
    assert clean[0].endswith("stenosis at L5-S1.") and "lumbar spine" not in clean[0]


def test_unassessed_levels_say_why_when_a_reason_is_given():
    reason = "no disc found above L2-L3 (outside the field of view or not segmented)"
    findings = [LevelFinding(L(lv)) for lv in ("L2-L3", "L3-L4", "L4-L5", "L5-S1")]
    rep = generate_report(findings, not_assessed={"L1-L2": f"  {reason}. "})
    assert rep.findings[0] == ("L1-L2", f"Not assessed: {reason}.")
    assert rep.text().splitlines()[1] == f"L1-L2: Not assessed: {reason}."
    assert "L1-L2" not in rep.labels()
    assert rep.impression.splitlines()[-1] == "Not assessed: L1-L2."
    # No reason (or an empty one): the plain sentence, as before.
    assert (
        dict(generate_report(findings, not_assessed={"L1-L2": ""}).findings)["L1-L2"]
        == "Not assessed."
    )


def test_a_reason_for_a_level_with_a_finding_or_an_unknown_level_is_refused():
    findings = [LevelFinding(L(lv)) for lv in ("L4-L5", "L5-S1")]
    with pytest.raises(ValueError, match="L4-L5 given both"):
        generate_report(findings, not_assessed={"L4-L5": "outside the field of view"})
    with pytest.raises(ValueError, match="unknown level"):
        generate_report(findings, not_assessed={"T12-L1": "outside the field of view"})
