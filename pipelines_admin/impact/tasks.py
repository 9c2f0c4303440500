"""Celery tasks: each passes an id to a service; the services are idempotent and keep
their outcome in the database (no result backend: see runs.tasks). The services send
these tasks, so the tasks import the services when they run."""

from celery import shared_task
from django.conf import settings


@shared_task(
    name="impact.process_chunk",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=settings.IMPACT_CHUNK_SOFT_TIME_LIMIT,
    time_limit=settings.IMPACT_CHUNK_TIME_LIMIT,
)
def process_impact_chunk(chunk_id: int) -> int:
    from pipelines_admin.impact import services

    return services.impact_chunk_process(chunk_id)


@shared_task(name="impact.sweep", ignore_result=True)
def sweep() -> dict:
    from pipelines_admin.impact import services

    return services.impact_sweep()
