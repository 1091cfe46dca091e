"""Writes for curation: one person's decisions on the five levels of a report.

A decision is always a new Annotation row; NLP rows and earlier decisions are never
touched. Saving is optimistic: the page carries the id of the newest decision row on
the report it showed (the token), and a save refuses when someone else's decision
arrived in between, unless the report is in the overlap share, where two annotators
decide independently by design.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import FilteredRelation, Max, Q

from accounts import roles
from labeling.curation import leases
from labeling.curation.adjudication import adjudication_queue, awaits_adjudication
from labeling.curation.item import report_token
from labeling.curation.model_disagreement import disagreement
from labeling.curation.queue import (
    QueueFilters,
    annotators_needed,
    filled_report_ids,
    is_overlap,
    open_places,
    queue_report_ids,
)
from labeling.models import Annotation, ModelDisagreement, NlpLabel
from labeling.selectors import current_version, current_version_id
from spine.labels import FIELDS, LevelLabels
from studies.models import DiscLevel, RadiologistReport

MAX_SECONDS = 3600.0
# How far down the queue to look for a report nobody else has open.
LOOKAHEAD = 25


class CurationConflict(Exception):
    """The save cannot go through as sent (someone else decided on the report after it was
    shown, or it is not this person's to decide now): nothing was saved.

    ``show_report`` says whether the page should show the report again as it stands.
    """

    def __init__(self, *, report_id: int, message: str, show_report: bool = True):
        super().__init__(message)
        self.report_id = report_id
        self.message = message
        self.show_report = show_report


def _conflict(*, author, report_id: int, token: int, kind: str) -> str | None:
    newer = Annotation.objects.filter(report_id=report_id, id__gt=token, kind=kind)
    if kind == Annotation.Kind.ADJUDICATION:
        if newer.exists():
            return "Another adjudicator settled this report while you were working on it."
        return None
    if is_overlap(report_id):
        # Two annotators by design; only this person's own newer save (another tab) conflicts,
        # or a third person arriving after two have decided. One query: the newest row per
        # author and kind on the report.
        rows = list(
            Annotation.objects.filter(report_id=report_id)
            .order_by()
            .values_list("author_id", "kind")
            .annotate(newest=Max("id"))
        )
        if any(who == author.pk and what == kind and last > token for who, what, last in rows):
            return "You saved this report in another window while this one was open."
        others = {who for who, what, _ in rows if what == kind and who != author.pk}
        if len(others) >= 2 and not any(who == author.pk for who, _, _ in rows):
            return "Two annotators have already labelled this report."
        return None
    newest = newer.select_related("author").order_by("-id").first()
    if newest is not None:
        who = "You" if newest.author_id == author.pk else newest.author.username
        return f"{who} saved this report while you were working on it."
    return None


@transaction.atomic
def save_decisions(
    *,
    author,
    report_id: int,
    token: int,
    decisions: Mapping[str, Mapping[str, Any]],
    seconds_spent: float = 0.0,
    kind: str = Annotation.Kind.ANNOTATION,
) -> list[Annotation]:
    """Record one decision row per level of the report, or raise CurationConflict.

    `decisions` maps every level of the study to its seven field values; time spent on
    the report is shared equally between its levels.
    """
    _check_role(author, kind)
    report = _locked_report(report_id)
    message = _conflict(author=author, report_id=report.pk, token=int(token), kind=kind)
    if message:
        raise CurationConflict(report_id=report.pk, message=message)
    return _record_decisions(
        author=author, report=report, decisions=decisions, seconds_spent=seconds_spent, kind=kind
    )


def _check_role(author, kind: str) -> None:
    needed = roles.ADJUDICATE if kind == Annotation.Kind.ADJUDICATION else roles.ANNOTATE
    if not author.has_perm(needed):
        raise PermissionDenied(f"Your role does not allow this ({needed}).")


def _locked_report(report_id: int) -> RadiologistReport:
    # The row lock serialises concurrent saves of one report (SQLite: the IMMEDIATE transaction).
    # Only the columns needed: the report text is not read again here.
    return RadiologistReport.objects.select_for_update().only("pk", "study_id").get(pk=report_id)


def _record_decisions(
    *,
    author,
    report: RadiologistReport,
    decisions: Mapping[str, Mapping[str, Any]],
    seconds_spent: float,
    kind: str,
) -> list[Annotation]:
    """The rows of a save whose checks passed, on a report locked in this transaction."""
    # The study's levels with the current labeller's proposal on each, in one query.
    proposal = FilteredRelation(
        "nlp_labels",
        condition=Q(nlp_labels__report_id=report.pk, nlp_labels__labeller_id=current_version()),
    )
    found = list(
        DiscLevel.objects.filter(study_id=report.study_id)
        .order_by()
        .annotate(proposal=proposal)
        .values_list("level", "pk", "proposal__id")
    )
    levels = {level: pk for level, pk, _ in found}
    proposals = {level: nlp_id for level, _, nlp_id in found if nlp_id is not None}
    missing = set(levels) - set(decisions)
    if missing:
        raise ValueError(f"no decision for {', '.join(sorted(missing))}")
    unknown = set(decisions) - set(levels)
    if unknown:
        raise ValueError(f"the study has no level {', '.join(sorted(unknown))}")
    labels = {
        level: LevelLabels(level=level, **{k: decisions[level][k] for k in FIELDS})
        for level in levels
    }
    seconds = min(max(float(seconds_spent or 0), 0.0), MAX_SECONDS) / max(len(levels), 1)
    rows = [
        Annotation(
            report=report,
            level_id=levels[level],
            author=author,
            kind=kind,
            started_from_id=proposals.get(level),
            seconds_spent=seconds,
            **{name: getattr(labels[level], name) for name in FIELDS},
        )
        for level in sorted(levels)
    ]
    saved = Annotation.objects.bulk_create(rows)
    if kind == Annotation.Kind.ANNOTATION and (
        # This save took the last place: always on a single-annotator report.
        annotators_needed(report.pk) == 1
        or open_places(report_id=report.pk, user_id=author.pk) <= 1
    ):
        NlpLabel.objects.filter(report_id=report.pk, report_needs_annotator=True).update(
            report_needs_annotator=False
        )
    queue = leases.ADJUDICATE if kind == Annotation.Kind.ADJUDICATION else leases.CURATE
    transaction.on_commit(
        partial(leases.release, report_id=report.pk, user_id=author.pk, queue=queue)
    )
    return saved


def _holds(*, user, report_id: int, queue: str) -> bool:
    """This person holds the report in the queue, or takes it now if their hold ran out
    and nobody else took the place (a lease is advisory and may lapse mid-report)."""
    if user.pk in leases.holders(report_id=report_id, queue=queue):
        return True
    places = 1 if queue == leases.ADJUDICATE else annotators_needed(report_id)
    return leases.claim(report_id=report_id, user_id=user.pk, places=places, queue=queue)


@transaction.atomic
def save_held_decisions(
    *,
    author,
    report_id: int,
    token: int,
    shown_token: int | None,
    decisions: Mapping[str, Mapping[str, Any]],
    seconds_spent: float = 0.0,
    kind: str = Annotation.Kind.ANNOTATION,
) -> list[Annotation]:
    """``save_decisions`` for a save from the curation pages, checked on the server side.

    - The optimistic token is the one the server showed this person (``shown_token``,
      kept in their session); the client's copy can only make the check stricter, so a
      forged large token cannot skip it. A report never shown to them is refused.
    - The report must be in their queue: for curation, it still needs an annotator, or
      they decided on it before (a correction), or were shown every decision on it (a
      save after a conflict); for adjudication, it is disputed and nobody settled it.
    - They hold it (``labeling.curation.leases``), or take it now if the place is free.
    """
    _check_role(author, kind)
    report = _locked_report(report_id)
    if shown_token is None:
        raise CurationConflict(
            report_id=report.pk,
            message="This report was not opened from your queue; here it is as it stands now.",
        )
    effective = min(int(token), int(shown_token))
    message = _conflict(author=author, report_id=report.pk, token=effective, kind=kind)
    if message:
        raise CurationConflict(report_id=report.pk, message=message)
    if kind == Annotation.Kind.ADJUDICATION:
        if not awaits_adjudication(report.pk):
            raise CurationConflict(
                report_id=report.pk,
                message="That report is not waiting for adjudication.",
                show_report=False,
            )
        queue = leases.ADJUDICATE
    else:
        # In the queue: it still needs an annotator, or this person decided on it before (a
        # correction), or was shown every decision on it (saving again after a conflict).
        in_queue = (
            open_places(report_id=report.pk, user_id=author.pk) > 0
            or Annotation.objects.filter(report_id=report.pk, author=author, kind=kind).exists()
            or effective >= report_token(report.pk)
        )
        if not in_queue:
            raise CurationConflict(
                report_id=report.pk, message="This report has all the annotators it needs."
            )
        queue = leases.CURATE
    if not _holds(user=author, report_id=report.pk, queue=queue):
        raise CurationConflict(
            report_id=report.pk,
            message="A colleague has this report open now; it was given to them when your hold ran out.",
            show_report=False,
        )
    return _record_decisions(
        author=author, report=report, decisions=decisions, seconds_spent=seconds_spent, kind=kind
    )


def close_filled_reports(*, report_ids: Iterable[int] | None = None) -> int:
    """Mark the label rows of reports (of ``report_ids``, or all) that have every annotator
    they need as out of the queue; returns how many rows changed.

    For labelling runs (the rows they add), bulk loaders (bench/archive.py) and a report
    found full at its claim; a save closes its own report. Raising the overlap share
    later does not reopen the reports closed before.
    """
    return NlpLabel.objects.filter(
        report_needs_annotator=True, report_id__in=filled_report_ids(report_ids)
    ).update(report_needs_annotator=False)


@dataclass(frozen=True)
class NextReport:
    report_id: int | None
    # Reports ahead in this person's queue that colleagues have open right now.
    held_by_others: int = 0


def claim_next_report(*, user, filters: QueueFilters, skip: Iterable[int] = ()) -> NextReport:
    """The first report in this person's queue that nobody else has open, now held for them.

    The queue is read LOOKAHEAD reports at a time (one query; the head alone costs about
    the same), passing those colleagues hold, until a free one or the end. A person holds
    one report at a time, so a team of any size is passed in a few reads.
    """
    skip = list(skip)
    passed: list[int] = []
    while True:
        batch = queue_report_ids(user=user, filters=filters, skip=skip + passed, limit=LOOKAHEAD)
        if not batch:
            return NextReport(None, len(passed))
        counts = leases.held_counts(batch, except_user=user.pk)
        for report_id in batch:
            # Only reports with a free place are worth a claim (and its database read).
            if counts[report_id] < annotators_needed(report_id) and claim_report(
                report_id=report_id, user=user
            ):
                return NextReport(report_id, len(passed))
            passed.append(report_id)


def claim_report(*, report_id: int, user) -> bool:
    """Hold the report for this person if it still needs them; False, holding nothing, if not.

    The queue was read before the hold, so a colleague may have saved the report in
    between (their save commits, then frees their hold): what the report still needs is
    read again once it is held, and the hold given back if it needs nobody more. A report
    found full here that the queue still listed was filled by a write that bypassed
    ``save_decisions``: it is taken out of the queue now.
    """
    if not leases.claim(report_id=report_id, user_id=user.pk, places=annotators_needed(report_id)):
        return False
    places = open_places(report_id=report_id, user_id=user.pk)
    others = sum(1 for holder in leases.holders(report_id=report_id) if holder != user.pk)
    if others < places:
        return True
    leases.release(report_id=report_id, user_id=user.pk)
    if places == 0:
        close_filled_reports(report_ids=[report_id])
    return False


def release_report(*, user, report_id: int, queue: str = leases.CURATE) -> None:
    """This person puts the report down (a skip): colleagues may be given it."""
    leases.release(report_id=report_id, user_id=user.pk, queue=queue)


@dataclass(frozen=True)
class NextAdjudication:
    report_id: int | None
    waiting: int  # reports waiting for adjudication, this one included
    held_by_others: int = 0


def claim_next_adjudication(*, user, skip: Iterable[int] = ()) -> NextAdjudication:
    """The first disputed report no other adjudicator has open, now held for this one."""
    waiting = adjudication_queue(skip=skip)
    candidates = waiting[:LOOKAHEAD]
    counts = leases.held_counts(candidates, except_user=user.pk, queue=leases.ADJUDICATE)
    held = 0
    for report_id in candidates:
        if counts[report_id] == 0 and leases.claim(
            report_id=report_id, user_id=user.pk, queue=leases.ADJUDICATE
        ):
            # Read again once held: another adjudicator may have settled it meanwhile.
            if awaits_adjudication(report_id):
                return NextAdjudication(report_id, len(waiting), held)
            leases.release(report_id=report_id, user_id=user.pk, queue=leases.ADJUDICATE)
        held += 1
    return NextAdjudication(None, len(waiting), held)


def refresh_model_disagreement(*, study_ids: Iterable[int]) -> int:
    """Score each level's current NLP label against the newest finished prediction on it.

    Called when a study's predictions are stored and when new NLP labels are written;
    returns how many levels were scored. Levels without both a label and a prediction
    keep no score (they sort after every scored one).
    """
    # labeling -> inference runs against the app order (issue #15): the model-disagreement
    # queue reads the inference app's predictions
    from inference.models import InferenceJob, Prediction

    study_ids = list(study_ids)
    version = current_version_id()
    if version is None or not study_ids:
        return 0
    # The newest finished job per study, as inference.selectors.newest_done_job picks it
    # (by creation, ties by id), for many studies in one query.
    newest: dict[int, int] = {}
    for job_id, study_id in (
        InferenceJob.objects.filter(study_id__in=study_ids, status=InferenceJob.Status.DONE)
        .order_by("created_at", "id")
        .values_list("pk", "study_id")
    ):
        newest[study_id] = job_id
    predictions = {
        p.level_id: p
        for p in Prediction.objects.filter(job_id__in=list(newest.values())).only(
            "id", "level_id", "probabilities"
        )
    }
    labels = NlpLabel.objects.filter(labeller_id=version, level_id__in=list(predictions)).only(
        "id", "level_id", *FIELDS
    )
    scored = 0
    with transaction.atomic():
        for label in labels:
            prediction = predictions[label.level_id]
            score, detectors = disagreement(
                {name: getattr(label, name) for name in FIELDS}, prediction.probabilities
            )
            ModelDisagreement.objects.update_or_create(
                nlp_label=label,
                defaults={"prediction": prediction, "score": score, "detectors": detectors},
            )
            scored += 1
    return scored
