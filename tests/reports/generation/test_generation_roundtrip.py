"""Round trip: every generated report, read by the NLP labeller, gives back its labels.

The plan covers the full product disc x canal x left/right foraminal x left/right
subarticular (3 x 5^5 = 9375 level label sets). Each disc x canal x foraminal
combination appears at every one of the five levels (with five different
subarticular pairs), and the levels of one report hold unrelated combinations.
"""

from __future__ import annotations

import random
from itertools import product

import pytest

from reports.generation import BestImage, LevelFinding, generate_report
from spine.labels import DISC_VALUES, FIELDS, GRADES, LEVELS, LevelLabels

CORE = list(product(DISC_VALUES, GRADES, GRADES, GRADES))  # disc, canal, left/right foraminal
SUBARTICULAR = list(product(GRADES, GRADES))


def _plan() -> dict[str, list[tuple[str, ...]]]:
    """Label tuples per level: combination (core i, subarticular j) goes to level (i + j) mod 5."""
    per_level: dict[str, list[tuple[str, ...]]] = {lv: [] for lv in LEVELS}
    for i, core in enumerate(CORE):
        for j, sub in enumerate(SUBARTICULAR):
            per_level[LEVELS[(i + j) % len(LEVELS)]].append(core + sub)
    rng = random.Random(20250)
    for combos in per_level.values():
        rng.shuffle(combos)
    return per_level


def _measurements(k: int) -> tuple[float | None, BestImage | None]:
    ap = None if k % 9 == 0 else round(5.0 + (k * 37 % 130) / 10 + 0.04, 2)
    img = (
        None
        if k % 13 == 0
        else BestImage(("sagittal", "axial")[k % 2], ("T1", "T2")[k % 3 > 0], 1 + k % 24)
    )
    return ap, img


@pytest.fixture(scope="module")
def reports():
    plan = _plan()
    n = len(plan[LEVELS[0]])
    assert all(len(v) == n for v in plan.values())
    out = []
    for r in range(n):
        findings = []
        for j, lv in enumerate(LEVELS):
            ap, img = _measurements(r * len(LEVELS) + j)
            findings.append(LevelFinding(LevelLabels(lv, *plan[lv][r]), ap, img))
        out.append((findings, generate_report(findings)))
    return out


def test_plan_covers_every_combination_at_every_level(reports):
    seen = {
        (f.labels.level, *(getattr(f.labels, name) for name in FIELDS[:-1]))
        for findings, _ in reports
        for f in findings
    }
    assert len(seen) == len(reports) * len(LEVELS) == len(DISC_VALUES) * len(GRADES) ** 5
    core_at_level = {(lv, *combo[:4]) for lv, *combo in seen}
    assert len(core_at_level) == len(CORE) * len(LEVELS)


def test_measurements_are_written(reports):
    for findings, report in reports[:200]:
        texts = dict(report.findings)
        for f in findings:
            text = texts[f.labels.level]
            if f.ap_diameter_mm is not None:
                assert f"The spinal canal midline AP diameter is {f.ap_diameter_mm:.1f} mm." in text
            else:
                assert "AP diameter" not in text
            if f.best_image is not None:
                img = f.best_image
                assert (
                    f"best seen on {img.weighting} {img.plane} image {img.instance_number}." in text
                )
            else:
                assert "best seen" not in text


def _mismatches(lab, reports, text_of) -> list[str]:
    out = []
    items = ((str(i), text_of(rep)) for i, (_, rep) in enumerate(reports))
    for (findings, rep), res in zip(reports, lab.label_many(items), strict=True):
        assert not res.errors, res.errors
        got = res.by_level()
        assert rep.labels() == {f.labels.level: f.labels.to_exchange() for f in findings}
        for level, want in rep.labels().items():
            have = got[level].to_exchange()
            if have != want:
                diff = {k: (want[k], have[k]) for k in want if want[k] != have.get(k)}
                out.append(f"{level} {diff}\n{text_of(rep)}")
    return out


@pytest.mark.slow
def test_labeller_recovers_every_label_from_the_whole_report(lab, reports):
    bad = _mismatches(lab, reports, lambda rep: rep.text())
    assert not bad, f"{len(bad)} level(s) misread; first:\n" + "\n\n".join(bad[:5])


def test_impression_alone_states_the_same_labels(lab, reports):
    # The Impression names every level and restates every finding, so on its own it
    # must mean exactly what the Findings mean: it cannot contradict them.
    bad = _mismatches(lab, reports, lambda rep: rep.impression)
    assert not bad, f"{len(bad)} level(s) misread; first:\n" + "\n\n".join(bad[:5])


def test_findings_alone_state_the_labels(lab, reports):
    sample = reports[::7]
    bad = _mismatches(lab, sample, lambda rep: "\n".join(f"{lv}: {s}" for lv, s in rep.findings))
    assert not bad, f"{len(bad)} level(s) misread; first:\n" + "\n\n".join(bad[:5])


@pytest.mark.parametrize(
    "missing", [("L3-L4",), ("L1-L2", "L5-S1"), ("L1-L2", "L2-L3", "L3-L4", "L4-L5")]
)
def test_round_trip_with_unassessed_levels(lab, reports, missing):
    for findings, _ in reports[:60]:
        kept = [f for f in findings if f.labels.level not in missing]
        rep = generate_report(kept)
        assert set(rep.labels()) == {f.labels.level for f in kept}
        got = lab.label(rep.text()).by_level()
        for level, want in rep.labels().items():
            assert got[level].to_exchange() == want, rep.text()
        for level in missing:
            # The guide reads a level with no finding as normal; the report says "Not assessed".
            assert dict(rep.findings)[level] == "Not assessed."
            assert got[level] == LevelLabels(level)


# The localiser's reasons for a level it cannot name (inference.ml.localisation); they
# name other levels and structures, and must still be read as no finding at their level.
REASONS = (
    "no disc found above L2-L3 (outside the field of view or not segmented)",
    "the next disc above L3-L4 is 61 mm away, outside 20-55 mm (a disc may be missed or split)",
    "the next disc above L4-L5 is tilted 41 degrees from it (more than 35)",
    "the vertebral body above L4-L5 would be 12 mm tall, outside 14-45 mm",
    "no vertebral body found between L3-L4 and the next disc above it",
    "the naming confidence fell to 0.42",
    "L3-L4 could not be named",
)


@pytest.mark.parametrize("reason", REASONS)
def test_round_trip_with_the_reasons_for_unassessed_levels(lab, reports, reason):
    missing = ("L1-L2", "L2-L3")
    for findings, _ in reports[:40]:
        kept = [f for f in findings if f.labels.level not in missing]
        rep = generate_report(kept, not_assessed=dict.fromkeys(missing, reason))
        assert set(rep.labels()) == {f.labels.level for f in kept}
        got = lab.label(rep.text()).by_level()
        for level, want in rep.labels().items():
            assert got[level].to_exchange() == want, rep.text()
        for level in missing:
            assert dict(rep.findings)[level] == f"Not assessed: {reason}."
            assert got[level] == LevelLabels(level), rep.text()
