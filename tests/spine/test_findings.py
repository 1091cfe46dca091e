"""The vocabulary's findings: each "present" rule against the guide's definitions, and the
tables every app reads (keys, order, names)."""

from __future__ import annotations

from itertools import product

import pytest

from spine import findings
from spine.labels import DISC_VALUES, FIELDS, GRADED_FIELDS, GRADES, LevelLabels


def _levels():
    """Every combination of disc and a grade on one graded field at a time, both uncertainties."""
    for disc, name, grade, uncertain in product(DISC_VALUES, GRADED_FIELDS, GRADES, (False, True)):
        yield LevelLabels(level="L4-L5", disc=disc, uncertain=uncertain, **{name: grade})


@pytest.mark.parametrize("level", list(_levels()), ids=str)
def test_each_finding_follows_the_guide(level: LevelLabels) -> None:
    assert findings.BULGING.present(level) == (level.disc == "bulge")
    assert findings.HERNIATION.present(level) == (level.disc == "herniation")
    assert findings.CANAL_STENOSIS.present(level) == (level.canal_stenosis != "none")
    assert findings.FORAMINAL_STENOSIS_LEFT.present(level) == (level.left_foraminal != "none")
    assert findings.FORAMINAL_STENOSIS_RIGHT.present(level) == (level.right_foraminal != "none")
    assert findings.FORAMINAL_STENOSIS.samples(level) == [
        level.left_foraminal != "none",
        level.right_foraminal != "none",
    ]
    assert findings.SUBARTICULAR_STENOSIS.present(level) == (
        level.left_subarticular != "none" or level.right_subarticular != "none"
    )
    assert findings.UNCERTAIN.present(level) == level.uncertain
    some_field_abnormal = level.disc != "none" or any(
        getattr(level, n) != "none" for n in GRADED_FIELDS
    )
    assert findings.abnormal(level) == some_field_abnormal
    assert findings.normal(level) == (not some_field_abnormal and not level.uncertain)


def test_a_mapping_and_an_object_give_the_same_answer() -> None:
    level = LevelLabels(level="L5-S1", disc="herniation", right_foraminal="mild")
    row = {name: getattr(level, name) for name in FIELDS}
    for finding in (*findings.DETECTORS, *findings.GROUPS.values()):
        assert finding.present(row) == finding.present(level), finding.key
    assert findings.detector_targets(row) == {
        "bulging": False,
        "herniation": True,
        "canal_stenosis": False,
        "foraminal_stenosis_left": False,
        "foraminal_stenosis_right": True,
    }


def test_main_finding_prefers_herniation_then_bulge_then_canal_then_foramina() -> None:
    def main(**fields: str) -> str:
        return findings.main_finding(LevelLabels(level="L3-L4", **fields)).key

    assert main() == "canal_stenosis"  # a normal level: the midline
    assert main(right_foraminal="mild") == "foraminal_stenosis_right"
    assert main(left_foraminal="mild", right_foraminal="mild") == "foraminal_stenosis_left"
    assert main(canal_stenosis="mild", left_foraminal="severe") == "canal_stenosis"
    assert main(disc="bulge", canal_stenosis="severe") == "bulging"
    assert main(disc="herniation") == "herniation"


def test_the_tables_every_app_reads() -> None:
    # The models' probability keys, in their output order.
    assert [f.key for f in findings.DETECTORS] == [
        "bulging",
        "herniation",
        "canal_stenosis",
        "foraminal_stenosis_left",
        "foraminal_stenosis_right",
    ]
    # The paper's order for the agreement tables, then the foramina pooled.
    assert [f.key for f in findings.AGREEMENT_DETECTORS] == [
        "bulging",
        "canal_stenosis",
        "herniation",
        "foraminal_stenosis_left",
        "foraminal_stenosis_right",
        "foraminal_stenosis",
    ]
    assert [f.key for f in findings.PAPER_DETECTORS] == [
        "bulging",
        "herniation",
        "canal_stenosis",
        "foraminal_stenosis",
    ]
    every = (*findings.AGREEMENT_DETECTORS, *findings.GROUPS.values())
    for finding in every:
        assert set(finding.fields) <= set(FIELDS), finding.key
        assert finding.short_label and finding.long_label and finding.phrase, finding.key
    assert len({f.short_label for f in findings.AGREEMENT_DETECTORS}) == len(
        findings.AGREEMENT_DETECTORS
    )
    assert set(findings.ABNORMAL_FIELDS) | {"uncertain"} == set(FIELDS)
