"""The Celery application (`celery -A pipelines_admin worker`); configured from
the CELERY_* settings. A `filesystem://` broker URL selects the project's filesystem
transport (pipelines_admin.core.broker: messages written whole)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_postrun

from pipelines_admin.core.broker import use_for_filesystem_urls

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipelines_admin.settings")

use_for_filesystem_urls()
app = Celery("pipelines_admin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_postrun.connect
def _forget_queries(**_: object) -> None:
    """With DEBUG on (make run), Django logs every query a connection runs until a web
    request starts; a worker never starts one, so its log is emptied after each task."""
    from django.db import reset_queries

    reset_queries()
