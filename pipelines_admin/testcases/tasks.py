"""Celery tasks: each passes an id to a service; the services are idempotent and keep
their outcome in the database (no result backend: see runs.tasks). The services send
these tasks, so the tasks import the services when they run."""

from celery import shared_task
from django.conf import settings


@shared_task(
    name="testcases.run_suite",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=settings.SUITE_SOFT_TIME_LIMIT,
    time_limit=settings.SUITE_TIME_LIMIT,
)
def run_suite(suite_id: int) -> str | None:
    from pipelines_admin.testcases import services

    suite = services.suite_execute(suite_id)
    return suite.status if suite else None


@shared_task(name="testcases.sweep", ignore_result=True)
def sweep() -> dict:
    from pipelines_admin.testcases import services

    return services.suites_sweep()
