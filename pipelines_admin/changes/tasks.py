"""Beat's task for scheduled change requests (see changes.services.changes_apply_due)."""

from celery import shared_task


@shared_task(name="changes.apply_due", ignore_result=True)
def apply_due() -> dict:
    from pipelines_admin.changes import services

    return services.changes_apply_due()
