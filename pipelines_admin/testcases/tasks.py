"""Celery tasks: each passes an id to a service; the services are idempotent and keep
their outcome in the database (no result backend: see runs.tasks)."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from pipelines_admin.testcases import services


@shared_task(
    name="testcases.run_suite",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=settings.SUITE_SOFT_TIME_LIMIT,
    time_limit=settings.SUITE_TIME_LIMIT,
)
def run_suite(suite_id: int) -> str | None:
    try:
        suite = services.suite_execute(suite_id)
    except SoftTimeLimitExceeded:
        services.suite_time_limit_exceeded(suite_id)
        return "error"
    return suite.status if suite else None


@shared_task(name="testcases.sweep", ignore_result=True)
def sweep() -> dict:
    return services.suites_sweep()
