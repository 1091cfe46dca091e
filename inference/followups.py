"""The AI run an ingest asks for, queued through studies' follow-up dispatch
(``studies.services.followups``; registered in InferenceConfig.ready)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction

from studies.models import PendingFollowUp, Study
from studies.services.followups import FollowUpHandler


def queue_after_ingest(study_id: int) -> None:
    """Queue the image models for a study that just received images, when configured."""
    if not settings.RADBOT_INFER_AFTER_INGEST:
        return
    # Loaded by the first ingest that starts the models, not at start-up: InferenceConfig.ready
    # imports this module in every process.
    from inference.dispatch import request_inference
    from inference.services.jobs import NoModel

    study = Study.objects.filter(pk=study_id).first()
    if study is None:
        return
    try:
        request_inference(study=study)
    except NoModel:
        return  # nothing trained yet: ingest must not depend on it


def redo_after_ingest(row: PendingFollowUp) -> None:
    """Queue the AI run an earlier ingest could not; raises while the broker is still down."""
    # Loaded by the first retried follow-up, not at start-up (see queue_after_ingest).
    from inference.dispatch import request_inference
    from inference.models import InferenceJob
    from inference.services.jobs import NoModel
    from inference.tasks import inference_chain

    # A job whose chain never reached the broker is still queued at stage "": publish
    # its chain rather than creating a second job (the stages are idempotent anyway).
    stuck = (
        InferenceJob.objects.filter(
            study_id=row.study_id,
            status=InferenceJob.Status.QUEUED,
            stage="",
            created_at__gte=row.created_at - timedelta(minutes=5),
        )
        .order_by("-id")
        .first()
    )
    if stuck is not None:
        inference_chain(stuck.pk).apply_async()
        return
    try:
        with transaction.atomic():
            request_inference(study=row.study)
    except NoModel:
        return


HANDLER = FollowUpHandler(
    kind=PendingFollowUp.Kind.INFERENCE, queue=queue_after_ingest, redo=redo_after_ingest
)
