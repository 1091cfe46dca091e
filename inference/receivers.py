"""Reactions to this app's own signals that belong to apps below it (connected in
InferenceConfig.ready): inference may import labeling, not the other way round."""

from __future__ import annotations

from typing import Any

from inference.models import InferenceJob


def rescore_curation_queue(sender: Any, job_id: int, **kwargs: Any) -> None:
    """New predictions re-score the curation queue's model-vs-NLP order."""
    # Here, not at the top: InferenceConfig.ready imports this module at every start-up,
    # and the task brings the labelling services with it.
    from labeling.tasks import refresh_model_disagreement_task

    study_id = InferenceJob.objects.filter(pk=job_id).values_list("study_id", flat=True).first()
    if study_id is not None:
        refresh_model_disagreement_task.delay(study_id)
