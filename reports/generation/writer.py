"""Report text from a study's predicted labels (Findings per level + Impression).

Pure Python: the decision tables live in ``tables.py``; this module picks the
table rows for each level and joins them. The output is checked by the NLP
labeller reading it back (``tests/reports/test_generation_roundtrip.py``).

Choices:

* ``uncertain=True`` is rejected (``ValueError``): the model never hedges, and a
  hedged sentence is labelled *absent* by the guide, so the text could not state
  the field's value.
* ``generate_report`` accepts fewer than five levels: a missing level is written
  "Not assessed." in Findings (with the models' reason when ``not_assessed`` gives
  one: "Not assessed: <reason>.") and listed in the Impression, and
  ``GeneratedReport.labels()`` leaves it out. (The labeller reads an unassessed
  level as normal, as the guide says of a level the report does not describe.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reports.generation import tables as t
from spine.labels import GRADED_FIELDS, LEVELS, LevelLabels

PLANES = ("sagittal", "axial")
WEIGHTINGS = ("T1", "T2")


@dataclass(frozen=True)
class BestImage:
    """Where a finding is best seen."""

    plane: str
    weighting: str
    instance_number: int

    def __post_init__(self) -> None:
        if self.plane not in PLANES:
            raise ValueError(f"plane={self.plane!r} is not one of {PLANES}")
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting={self.weighting!r} is not one of {WEIGHTINGS}")
        if (
            isinstance(self.instance_number, bool)
            or not isinstance(self.instance_number, int)
            or self.instance_number < 1
        ):
            raise ValueError(f"instance_number={self.instance_number!r} is not a positive integer")


@dataclass(frozen=True)
class LevelFinding:
    """The model's labels for one level, with its measurements."""

    labels: LevelLabels
    ap_diameter_mm: float | None = None
    best_image: BestImage | None = None


@dataclass(frozen=True)
class GeneratedReport:
    findings: tuple[tuple[str, str], ...]  # (level, sentence text) in LEVELS order
    impression: str
    # The labels the text states, one per assessed level; filled by generate_report.
    level_labels: tuple[LevelLabels, ...] = field(default=())

    def text(self) -> str:
        body = "\n".join(f"{level}: {sentence}" for level, sentence in self.findings)
        return f"FINDINGS:\n{body}\n\nIMPRESSION:\n{self.impression}"

    def labels(self) -> dict[str, dict[str, Any]]:
        return {lv.level: lv.to_exchange() for lv in self.level_labels}


# ---- Findings --------------------------------------------------------------------------


def _is_normal(labels: LevelLabels) -> bool:
    return labels.disc == "none" and all(getattr(labels, f) == "none" for f in GRADED_FIELDS)


def _check(finding: LevelFinding) -> None:
    if not isinstance(finding.labels, LevelLabels):
        raise TypeError(f"labels must be a LevelLabels, not {type(finding.labels).__name__}")
    if finding.labels.uncertain:
        raise ValueError(
            f"{finding.labels.level}: uncertain=True cannot be written as a definite report"
        )
    mm = finding.ap_diameter_mm
    if mm is not None and (
        isinstance(mm, bool) or not isinstance(mm, int | float) or not math.isfinite(mm) or mm <= 0
    ):
        raise ValueError(f"{finding.labels.level}: ap_diameter_mm={mm!r} is not a positive number")
    if finding.best_image is not None and not isinstance(finding.best_image, BestImage):
        raise TypeError(f"best_image must be a BestImage, not {type(finding.best_image).__name__}")


def disc_canal_sentence(labels: LevelLabels) -> str:
    """The disc / central canal sentence(s) of an abnormal level."""
    template = t.DISC_CANAL[(labels.disc != "none", t.canal_kind(labels.canal_stenosis))]
    return template.format(
        noun=t.DISC_NOUN.get(labels.disc, ""), grade=t.GRADE_PREFIX.get(labels.canal_stenosis, "")
    )


def pair_sentences(labels: LevelLabels, suffix: str) -> tuple[str, ...]:
    """Sentences for one left/right structure ("foraminal" or "subarticular")."""
    left = getattr(labels, f"left_{suffix}")
    right = getattr(labels, f"right_{suffix}")
    words = t.PAIRED[suffix]
    return tuple(
        s.format(
            one=words["one"],
            both=words["both"],
            left=t.GRADE_PREFIX.get(left, ""),
            right=t.GRADE_PREFIX.get(right, ""),
        )
        for s in t.PAIR_SENTENCES[t.pair_case(left, right)]
    )


def level_sentence(finding: LevelFinding) -> str:
    """The Findings text of one level (without the level name)."""
    _check(finding)
    labels = finding.labels
    normal = _is_normal(labels)
    parts = [t.NORMAL_LEVEL if normal else disc_canal_sentence(labels)]
    if finding.ap_diameter_mm is not None:
        parts.append(t.AP_DIAMETER.format(mm=finding.ap_diameter_mm))
    if finding.best_image is not None:
        img = finding.best_image
        parts.append(
            t.BEST_IMAGE[not normal].format(
                weighting=img.weighting, plane=img.plane, instance_number=img.instance_number
            )
        )
    if not normal:
        parts += pair_sentences(labels, "foraminal")
        parts += pair_sentences(labels, "subarticular")
    return " ".join(parts)


# ---- Impression ------------------------------------------------------------------------


def is_significant(labels: LevelLabels) -> bool:
    """Whether the level gets its own Impression line (herniation or any stenosis)."""
    return labels.disc in t.SIGNIFICANT_DISC or any(
        getattr(labels, f) != "none" for f in GRADED_FIELDS
    )


def _join(phrases: Sequence[str]) -> str:
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def impression_line(labels: LevelLabels) -> str:
    """The Impression line of a significant level, e.g. "L4-L5: Disc herniation with ..."."""
    phrases: list[str] = []
    if labels.canal_stenosis != "none":
        phrases.append(t.IMPRESSION_CANAL.format(grade=t.GRADE_PREFIX[labels.canal_stenosis]))
    for suffix, words in t.PAIRED.items():
        left = getattr(labels, f"left_{suffix}")
        right = getattr(labels, f"right_{suffix}")
        phrases += [
            p.format(
                noun=words["impression"],
                left=t.GRADE_PREFIX.get(left, ""),
                right=t.GRADE_PREFIX.get(right, ""),
            )
            for p in t.IMPRESSION_PAIR[t.pair_case(left, right)]
        ]
    if labels.disc != "none":
        body = t.IMPRESSION_DISC[labels.disc] + (f" with {_join(phrases)}" if phrases else "")
    else:
        body = _join(phrases)
        body = body[0].upper() + body[1:]
    return f"{labels.level}: {body}."


def impression_text(assessed: Sequence[LevelLabels], missing: Sequence[str] = ()) -> str:
    """The Impression: one line per significant level, bulges, the rest, unassessed levels."""
    significant = [lv for lv in assessed if is_significant(lv)]
    bulges = [lv.level for lv in assessed if lv.disc == "bulge" and not is_significant(lv)]
    quiet = [lv.level for lv in assessed if _is_normal(lv)]
    summary = t.IMPRESSION_REST[(bool(significant), bool(bulges))]
    lines = [impression_line(lv) for lv in significant]
    if not significant:
        # Nothing significant anywhere: the negative statement covers every assessed level.
        scope = (
            t.WHOLE_SPINE
            if not missing
            else t.AT_LEVELS.format(levels=_join([lv.level for lv in assessed]))
        )
        lines.append(summary.format(scope=scope))
    if bulges:
        lines.append(t.IMPRESSION_BULGES[len(bulges) > 1].format(levels=_join(bulges)))
    if significant and quiet:
        lines.append(summary.format(scope=t.AT_LEVELS.format(levels=_join(quiet))))
    if missing:
        lines.append(t.IMPRESSION_NOT_ASSESSED.format(levels=_join(list(missing))))
    return "\n".join(lines)


def not_assessed_sentence(reason: str | None = None) -> str:
    """The Findings text of a level the models gave no reading, with their reason if any."""
    reason = " ".join((reason or "").split()).rstrip(" .;:")
    return t.NOT_ASSESSED_BECAUSE.format(reason=reason) if reason else t.NOT_ASSESSED


def refused_report(reasons: Mapping[str, str]) -> GeneratedReport:
    """The draft of a study where no level could be named: every level "Not assessed",
    with the reason, and no labels at all (nothing may be read back as a finding)."""
    lines = tuple((lv, not_assessed_sentence(reasons.get(lv))) for lv in LEVELS)
    reason = " ".join((reasons.get(LEVELS[-1]) or "no level could be named").split()).rstrip(" .;:")
    impression = "\n".join(
        [
            t.IMPRESSION_REFUSED.format(reason=reason),
            t.IMPRESSION_NOT_ASSESSED.format(levels=_join(list(LEVELS))),
        ]
    )
    return GeneratedReport(findings=lines, impression=impression, level_labels=())


def generate_report(
    findings: Sequence[LevelFinding], not_assessed: Mapping[str, str] | None = None
) -> GeneratedReport:
    """Findings (one line per level, LEVELS order) and Impression from the predictions.

    ``not_assessed`` (level -> reason) says why a level without a finding has none;
    a level both found and given a reason is an error.
    """
    by_level: dict[str, LevelFinding] = {}
    for f in findings:
        _check(f)
        if f.labels.level in by_level:
            raise ValueError(f"level {f.labels.level} given twice")
        by_level[f.labels.level] = f
    reasons = dict(not_assessed or {})
    if not by_level:
        if set(reasons) != set(LEVELS):
            raise ValueError("no level findings to report")
        return refused_report(reasons)
    unknown = sorted(set(reasons) - set(LEVELS))
    if unknown:
        raise ValueError(f"not_assessed names unknown level(s) {', '.join(unknown)}")
    both = sorted(set(reasons) & set(by_level))
    if both:
        raise ValueError(
            f"{', '.join(both)} given both a finding and a reason for not being assessed"
        )
    lines = tuple(
        (
            lv,
            level_sentence(by_level[lv])
            if lv in by_level
            else not_assessed_sentence(reasons.get(lv)),
        )
        for lv in LEVELS
    )
    assessed = tuple(by_level[lv].labels for lv in LEVELS if lv in by_level)
    missing = [lv for lv in LEVELS if lv not in by_level]
    return GeneratedReport(
        findings=lines, impression=impression_text(assessed, missing), level_labels=assessed
    )
