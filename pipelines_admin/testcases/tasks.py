"""Celery task: runs a suite by id; the service is idempotent."""
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from pipelines_admin.testcases import services


@shared_task(name="testcases.run_suite", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=settings.SUITE_SOFT_TIME_LIMIT, time_limit=settings.SUITE_TIME_LIMIT)
def run_suite(suite_id: int) -> str | None:
    try:
        suite = services.suite_execute(suite_id)
    except SoftTimeLimitExceeded:
        services.suite_time_limit_exceeded(suite_id)
        return "error"
    return suite.status if suite else None


@shared_task(name="testcases.sweep")
def sweep() -> dict:
    return services.suites_sweep()
