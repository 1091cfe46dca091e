"""Signals other apps listen to, so that inference never imports them."""

from django.dispatch import Signal

# Sent with ``job_id`` once a job's predictions are committed (status done).
inference_job_done = Signal()
