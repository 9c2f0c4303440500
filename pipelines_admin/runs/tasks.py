"""Celery tasks: each passes an id to a service and returns; the services are idempotent.
The services send these tasks, so the tasks import the services when they run.

Their outcome is in the database, never in Celery's result backend: ignore_result keeps
sending a task from touching that backend. (With Redis as the result backend, sending
a task that keeps its result subscribes to it first: while Redis is down, that holds
the sender, a web request, for about twenty seconds before it fails.)"""

from celery import shared_task
from django.conf import settings


@shared_task(
    name="runs.execute",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=settings.RUN_SOFT_TIME_LIMIT,
    time_limit=settings.RUN_TIME_LIMIT,
)
def execute_run(run_id: str) -> str | None:
    from pipelines_admin.runs import services

    run = services.run_execute(run_id)
    return run.status if run else None


@shared_task(
    name="runs.process_batch_chunk",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=settings.BATCH_CHUNK_SOFT_TIME_LIMIT,
    time_limit=settings.BATCH_CHUNK_TIME_LIMIT,
)
def process_batch_chunk(chunk_id: int) -> int:
    from pipelines_admin.runs import batches

    return batches.batch_chunk_process(chunk_id)


@shared_task(name="runs.sweep", ignore_result=True)
def sweep() -> dict:
    from pipelines_admin.runs import batches, services

    return {**services.runs_sweep(), **batches.chunks_sweep()}
