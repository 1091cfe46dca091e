"""The Celery application. Broker and eager mode come from settings (environment)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radbot_web.settings")

app = Celery("radbot_web")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
