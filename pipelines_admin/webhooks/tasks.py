"""Celery tasks: each passes an id to a service (imported when the task runs) and returns."""

from celery import shared_task


@shared_task(name="webhooks.deliver", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver(delivery_id: int) -> str | None:
    from pipelines_admin.webhooks import services

    delivery = services.delivery_attempt(delivery_id)
    return delivery.status if delivery else None


@shared_task(name="webhooks.sweep", ignore_result=True)
def sweep() -> int:
    from pipelines_admin.webhooks import services

    return services.deliveries_sweep()
