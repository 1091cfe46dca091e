"""Signals the apps above inference listen to (reports writes the AI draft), so that inference
never imports them. Apps below it (labeling) are called from inference/receivers.py instead."""

from django.dispatch import Signal

# Sent with ``job_id`` once a job's predictions are committed (status done).
inference_job_done = Signal()

# Sent with ``job_id`` once a job is failed because no lumbar level could be named
# (``InferenceJob.not_assessed`` holds the reason for every level): the report can
# still say why the AI gave no reading.
inference_job_refused = Signal()
