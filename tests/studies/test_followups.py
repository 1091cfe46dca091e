"""Recorded follow-ups: one row per piece of work, attempts counted, exhausted ones left."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from studies.dispatch import requeue_followups
from studies.models import PendingFollowUp, Series
from studies.services.followups import MAX_AUTO_ATTEMPTS, record_followup
from tests.factories import StudyFactory


@pytest.fixture
def series(db):
    return Series.objects.create(
        study=StudyFactory(),
        series_instance_uid="1.2.3",
        plane="sagittal",
        weighting="T2",
        rows=16,
        columns=16,
        pixel_spacing_row_mm=0.5,
        pixel_spacing_col_mm=0.5,
        orientation=[0, 1, 0, 0, 0, -1],
    )


def test_a_second_failure_counts_an_attempt_not_a_row(series):
    for reason in ("broker down", "still down"):
        record_followup(
            kind="thumbnail", study_id=series.study_id, series_id=series.pk, error=reason
        )
    row = PendingFollowUp.objects.get()
    assert (row.attempts, row.last_error) == (2, "still down")


def test_exhausted_follow_ups_are_only_retried_when_asked(series, eager_celery, capsys):
    record_followup(kind="thumbnail", study_id=series.study_id, series_id=series.pk, error="x")
    PendingFollowUp.objects.update(attempts=MAX_AUTO_ATTEMPTS)
    assert requeue_followups() == {"queued": 0, "failed": 0, "left": 1}
    call_command("requeue_followups", "--list")
    assert "attempts 10" in capsys.readouterr().out
    # the series has no images: the eager render has nothing to draw, which completes it
    call_command("requeue_followups", "--all")
    assert not PendingFollowUp.objects.exists()


def test_the_database_refuses_a_thumbnail_follow_up_without_its_series(series):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        PendingFollowUp.objects.create(kind="thumbnail", study=series.study)
