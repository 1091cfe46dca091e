"""Where the labeller's proposal misses a gold label, field by field, and one such miss as
a regression case for the labeller's tests (labeling/regression_cases.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from labeling.curation.values import value_text
from labeling.models import LabellerVersion, NlpLabel
from labeling.regression_cases import build_case
from labeling.selectors import current_version_id, gold_decisions
from spine.labels import FIELDS, LEVELS
from studies.models import RadiologistReport


@dataclass(frozen=True)
class Disagreement:
    """One field where the current labeller's proposal differs from the gold label."""

    report_id: int
    level: str
    field: str
    gold: Any
    labeller: Any
    authors: tuple[str, ...]
    decided_at: Any

    @property
    def gold_text(self) -> str:
        return value_text(self.gold)

    @property
    def labeller_text(self) -> str:
        return value_text(self.labeller)


def labeller_disagreements(
    *, report_id: int | None = None, level: str = "", field_name: str = "", limit: int | None = None
) -> list[Disagreement]:
    """Gold levels where the current labeller version's proposal differs, field by field,
    in report, level and field order (optionally one report, level or field)."""
    version = current_version_id()
    if version is None:
        return []
    gold = gold_decisions(report_ids=None if report_id is None else [report_id])
    if level:
        gold = {key: g for key, g in gold.items() if key[1] == level}
    if not gold:
        return []
    labels = NlpLabel.objects.filter(labeller_id=version, report_id__in={r for r, _ in gold})
    if level:
        labels = labels.filter(level__level=level)
    proposals = {
        (r, lv): values
        for r, lv, *values in labels.values_list("report_id", "level__level", *FIELDS)
    }
    fields = [field_name] if field_name in FIELDS else list(FIELDS)
    found = []
    for key in sorted(gold, key=lambda k: (k[0], LEVELS.index(k[1]))):
        proposal = proposals.get(key)
        if proposal is None:
            continue
        decision = gold[key]
        for name in fields:
            i = FIELDS.index(name)
            if decision.values[i] != proposal[i]:
                found.append(
                    Disagreement(
                        key[0],
                        key[1],
                        name,
                        decision.values[i],
                        proposal[i],
                        decision.authors,
                        decision.decided_at,
                    )
                )
                if limit is not None and len(found) >= limit:
                    return found
    return found


def regression_case(
    *, report_id: int, level: str, field_name: str, exported_by: str
) -> dict[str, Any] | None:
    """The regression case of one disagreement (labeling/regression_cases.py), or None when
    the current labeller agrees with the gold label there (or either is missing)."""
    if level not in LEVELS or field_name not in FIELDS:
        return None
    found = labeller_disagreements(report_id=report_id, level=level, field_name=field_name)
    if not found:
        return None
    disagreement = found[0]
    version = LabellerVersion.objects.get(pk=current_version_id())
    label = NlpLabel.objects.get(report_id=report_id, level__level=level, labeller=version)
    text = RadiologistReport.objects.values_list("text", flat=True).get(pk=report_id)
    return build_case(
        report_id=str(report_id),
        text=text,
        level=level,
        field=field_name,
        gold=disagreement.gold,
        labeller=disagreement.labeller,
        labeller_version=version.version,
        authors=disagreement.authors,
        time=disagreement.decided_at.isoformat(),
        exported_by=exported_by,
        exported_at=timezone.now().isoformat(timespec="seconds"),
        evidence=label.evidence,
    )
