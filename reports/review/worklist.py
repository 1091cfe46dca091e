"""The sign-off worklist: studies with an AI report or a finished inference job, with the
state of their report's latest version."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from inference.models import InferenceJob
from reports.agreement.cache import kept_while_unchanged
from reports.agreement.sources import PREDICTIONS, REPORT_VERSIONS
from reports.models import ReportVersion
from studies.models import Study

# Worklist status filters: what a reader asks for, mapped to the latest version's status.
NO_DRAFT = "none"
WORKLIST_FILTERS: tuple[tuple[str, str], ...] = (
    ("awaiting", "awaiting sign-off"),
    (NO_DRAFT, "no draft"),
    ("preliminary", "preliminary"),
    ("final", "final"),
    ("amended", "amended"),
    ("all", "all"),
)


def worklist_studies(*, query: str = "", status: str = "awaiting") -> QuerySet[Study]:
    """Studies with an AI report or a finished inference job, with their report's state."""
    latest = ReportVersion.objects.filter(report__study=OuterRef("pk")).order_by("-number")
    studies = (
        Study.objects.select_related("patient")
        .annotate(
            report_status=Subquery(latest.values("status")[:1]),
            report_number=Subquery(latest.values("number")[:1]),
            report_changed_at=Subquery(latest.values("created_at")[:1]),
            report_signed_at=Subquery(latest.values("signed_at")[:1]),
            ever_signed=Exists(
                ReportVersion.objects.filter(report__study=OuterRef("pk"), signed_at__isnull=False)
            ),
            has_done_job=Exists(
                InferenceJob.objects.filter(study=OuterRef("pk"), status=InferenceJob.Status.DONE)
            ),
        )
        .filter(Q(has_done_job=True) | Q(report_number__isnull=False))
        .order_by("-study_date", "-id")
    )
    query = query.strip()
    if query:
        studies = studies.filter(
            Q(patient__pseudonym__icontains=query)
            | Q(accession__icontains=query)
            | Q(study_instance_uid__startswith=query)
            | Q(site__icontains=query)
        )
    if status == "awaiting":
        studies = studies.filter(Q(report_status__isnull=True) | Q(report_status="preliminary"))
    elif status == NO_DRAFT:
        studies = studies.filter(report_status__isnull=True)
    elif status in ReportVersion.Status.values:
        studies = studies.filter(report_status=status)
    return studies


def worklist_counts() -> dict[str, int]:
    """Worklist studies by their report's state ("total", "awaiting", "signed", and one per
    WORKLIST_FILTERS key), in one pass over the worklist, kept while no job state and no
    report version changed: each count otherwise reads every study's latest version."""
    return kept_while_unchanged("worklist-counts", (PREDICTIONS, REPORT_VERSIONS), _counts)


def _counts() -> dict[str, int]:
    by_status = dict(
        worklist_studies(status="all")
        .order_by()
        .values("report_status")
        .annotate(n=Count("pk"))
        .values_list("report_status", "n")
    )
    counts = {
        NO_DRAFT: by_status.get(None, 0),
        **{status: by_status.get(status, 0) for status in ReportVersion.Status.values},
    }
    counts["total"] = counts["all"] = sum(by_status.values())
    counts["awaiting"] = counts[NO_DRAFT] + counts[ReportVersion.Status.PRELIMINARY]
    counts["signed"] = counts[ReportVersion.Status.FINAL] + counts[ReportVersion.Status.AMENDED]
    return counts
