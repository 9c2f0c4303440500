"""The Celery application (`celery -A pipelines_admin worker`); configured from
the CELERY_* settings."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_postrun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipelines_admin.settings")

app = Celery("pipelines_admin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_postrun.connect
def _forget_queries(**_: object) -> None:
    """With DEBUG on (make run), Django logs every query a connection runs until a web
    request starts; a worker never starts one, so its log is emptied after each task."""
    from django.db import reset_queries

    reset_queries()
