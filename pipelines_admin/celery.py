"""The Celery application (`celery -A pipelines_admin worker`); configured from
the CELERY_* settings."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipelines_admin.settings")

app = Celery("pipelines_admin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
