"""The agreement dashboard's reads: the model versions, their predictions, the reference
labels, and how often signed AI text was edited.

A comparison pairs each study x disc level that a model version predicted (from the
study's latest finished job of that version) with the reference label of the same
level: the gold label (labeling.selectors.gold_rows) or the NLP label of the current
labeller version.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)

from inference.models import InferenceJob, ModelVersion, Prediction
from labeling.models import Annotation, NlpLabel
from labeling.selectors import current_version_id, gold_rows
from reports.models import Report, ReportVersion
from reports.stats import COMPARED_FIELDS, Estimate, LabelPairs, proportion
from spine.labels import LEVELS
from studies.models import RadiologistReport

GOLD = "gold"
NLP = "nlp"
REFERENCES: dict[str, str] = {
    GOLD: "Gold labels (curated by annotators)",
    NLP: "NLP labels of the radiologists' reports",
}
# How captions name the reference ("resnet-b against NLP labels").
REFERENCE_NAMES: dict[str, str] = {GOLD: "gold labels", NLP: "NLP labels"}

Key = tuple[int, str]  # (study id, disc level)
# (study, level) -> the COMPARED_FIELDS values, in that order. Tuples, not dicts: aligning
# 17,800 levels reads each value once per field.
Labels = dict[Key, tuple[str, ...]]


def default_reference() -> str:
    """Gold once curation has begun; before that only NLP labels exist."""
    return GOLD if Annotation.objects.exists() else NLP


# --- the model versions and their predictions ------------------------------------


@dataclass(frozen=True)
class ModelChoice:
    id: int
    name: str
    created_at: datetime


def model_versions() -> list[ModelChoice]:
    """Every model version, newest first, for the picker."""
    return [
        ModelChoice(*row) for row in ModelVersion.objects.values_list("id", "name", "created_at")
    ]


def _latest_done(model_version_id: int, study_ids: Iterable[int] | None) -> QuerySet[Prediction]:
    """The predictions of each study's latest done job of the version (of every study, or
    of ``study_ids`` only).

    A job is the latest when no other done job of the version on the same study was
    created after it (ties broken by id), which one query answers with NOT EXISTS.
    """
    done = InferenceJob.Status.DONE
    newer = InferenceJob.objects.filter(
        study_id=OuterRef("job__study_id"), model_version_id=model_version_id, status=done
    ).filter(
        Q(created_at__gt=OuterRef("job__created_at"))
        | Q(created_at=OuterRef("job__created_at"), id__gt=OuterRef("job_id"))
    )
    chosen = Prediction.objects.filter(model_version_id=model_version_id, job__status=done)
    if study_ids is not None:
        chosen = chosen.filter(job__study_id__in=list(study_ids))
    return chosen.exclude(Exists(newer)).order_by()


def latest_predictions(*, model_version_id: int, study_ids: Iterable[int] | None = None) -> Labels:
    """(study, level) -> predicted fields, from each study's latest done job of the version."""
    rows = _latest_done(model_version_id, study_ids).values_list(
        "job__study_id", "level__level", *COMPARED_FIELDS
    )
    return {(study, level): tuple(values) for study, level, *values in rows}


def latest_prediction_counts(
    *, model_version_id: int, study_ids: Iterable[int] | None = None
) -> dict[int, int]:
    """study -> how many levels its latest done job of the version predicted (counted by
    the database: a row per study, not per level)."""
    rows = (
        _latest_done(model_version_id, study_ids)
        .values("job__study_id")
        .annotate(n=Count("id"))
        .values_list("job__study_id", "n")
    )
    return dict(rows)


# --- references ------------------------------------------------------------------


def newest_report_per_study(report_ids: Iterable[int]) -> dict[int, int]:
    """report id -> study id, keeping only each study's newest report among them."""
    newest: dict[int, tuple[Any, int]] = {}
    rows = RadiologistReport.objects.filter(pk__in=list(report_ids)).values_list(
        "pk", "study_id", "imported_at"
    )
    for report_id, study_id, imported_at in rows:
        current = newest.get(study_id)
        if current is None or (imported_at, report_id) > current:
            newest[study_id] = (imported_at, report_id)
    return {report_id: study_id for study_id, (_, report_id) in newest.items()}


def gold_reference(rows: Sequence[dict] | None = None) -> Labels:
    """(study, level) -> gold fields; a study with several curated reports uses the newest."""
    rows = gold_rows() if rows is None else rows
    study_of = newest_report_per_study({int(r["report_id"]) for r in rows})
    out: Labels = {}
    for row in rows:
        study_id = study_of.get(int(row["report_id"]))
        if study_id is not None:
            out[(study_id, row["level"])] = tuple(row[name] for name in COMPARED_FIELDS)
    return out


def nlp_reference() -> Labels:
    """(study, level) -> the current labeller version's fields, from each study's newest report."""
    version = current_version_id()
    if version is None:
        return {}
    rows = (
        NlpLabel.objects.filter(labeller_id=version)
        .order_by("report__imported_at", "report_id")
        .values_list("report__study_id", "level__level", *COMPARED_FIELDS)
    )
    # Ordered oldest report first, so a study's newest report overwrites older ones.
    return {(study, level): tuple(values) for study, level, *values in rows}


def align(reference: Labels, predicted: Labels) -> LabelPairs:
    """The levels both sides labelled, in (study, level) order."""
    rank = {level: i for i, level in enumerate(LEVELS)}
    keys = sorted(reference.keys() & predicted.keys(), key=lambda k: (k[0], rank[k[1]]))

    def columns(labels: Labels) -> dict[str, np.ndarray]:
        values = list(zip(*(labels[k] for k in keys), strict=True)) or [()] * len(COMPARED_FIELDS)
        return {
            name: np.array(column, dtype=str)
            for name, column in zip(COMPARED_FIELDS, values, strict=True)
        }

    return LabelPairs(
        levels=np.array([level for _, level in keys], dtype=str),
        reference=columns(reference),
        predicted=columns(predicted),
        keys=tuple(keys),
    )


def label_pairs(*, model_version_id: int, reference: str) -> LabelPairs:
    """The aligned pairs of one model version against one reference."""
    ref = gold_reference() if reference == GOLD else nlp_reference()
    return align(ref, latest_predictions(model_version_id=model_version_id))


# --- how often the AI text was edited before signing -----------------------------


@dataclass(frozen=True)
class EditShare:
    label: str
    signed: int
    edited: int
    share: Estimate


def edit_shares(*, model_version_ids: Sequence[int] = ()) -> list[EditShare]:
    """Among signed AI reports, the share whose first signed text differs from the first
    generated version: overall, then per chosen model version (the version that wrote
    the first text).

    Compared and counted by the database, a row per model version: reading every version's
    text into Python cost 0.4 s at 10,000 signed reports, on every edit anywhere.
    """
    versions = ReportVersion.objects.filter(report=OuterRef("pk")).order_by("number")
    generated = versions.filter(origin=ReportVersion.Origin.GENERATED)
    signed = versions.filter(signed_at__isnull=False)
    same_text = Q(gen_findings=F("signed_findings"), gen_impression=F("signed_impression"))
    per_model = (
        Report.objects.annotate(
            gen_findings=Subquery(generated.values("findings")[:1]),
            gen_impression=Subquery(generated.values("impression")[:1]),
            signed_findings=Subquery(signed.values("findings")[:1]),
            signed_impression=Subquery(signed.values("impression")[:1]),
            model_id=Subquery(generated.values("source_job__model_version_id")[:1]),
        )
        # Written by hand from the start (no generated version): no AI text to compare with.
        .filter(gen_impression__isnull=False, signed_impression__isnull=False)
        .order_by()
        .values("model_id")
        .annotate(
            signed=Count("pk"),
            edited=Sum(Case(When(same_text, then=Value(0)), default=Value(1))),
        )
        .values_list("model_id", "signed", "edited")
    )
    overall = [0, 0]
    by_model: dict[int, list[int]] = {}
    for model_id, signed_n, edited_n in per_model:
        overall[0] += signed_n
        overall[1] += edited_n
        if model_id is not None:
            by_model[model_id] = [signed_n, edited_n]
    names = dict(
        ModelVersion.objects.filter(pk__in=list(model_version_ids)).values_list("pk", "name")
    )
    rows = [("All signed AI reports", overall)]
    rows += [(names[mid], by_model.get(mid, [0, 0])) for mid in model_version_ids if mid in names]
    return [
        EditShare(label=label, signed=signed, edited=edited, share=proportion(edited, signed))
        for label, (signed, edited) in rows
    ]
