from celery import shared_task


@shared_task(name="health.ping")
def ping(token: str) -> dict:
    """Answer with the token: proves a worker consumes tasks from the broker."""
    import os

    return {"token": token, "worker_pid": os.getpid()}
