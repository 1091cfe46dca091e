"""New predictions re-score the curation queue's model-vs-NLP order."""

from __future__ import annotations

from inference.models import InferenceJob


def on_inference_job_done(sender, job_id: int, **kwargs) -> None:
    # Here, not at the top: LabelingConfig.ready imports this module at every start-up, and
    # the task brings the labelling services with it.
    from labeling.tasks import refresh_model_disagreement_task

    study_id = InferenceJob.objects.filter(pk=job_id).values_list("study_id", flat=True).first()
    if study_id is not None:
        refresh_model_disagreement_task.delay(study_id)
