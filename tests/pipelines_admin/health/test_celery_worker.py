import uuid

import pytest

from pipelines_admin.health.tasks import ping


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_ping__sent_through_the_broker__a_real_worker_process_answers(celery_worker_process):
    # Given a worker process consuming its own queue
    token = uuid.uuid4().hex
    # When a task is sent through the configured broker
    result = ping.delay(token)
    # Then the worker process (not this one) runs it and the result comes back
    try:
        answer = result.get(timeout=90)
    except Exception:  # noqa: BLE001 - any failure shows the worker's log
        pytest.fail("worker did not answer; its log:\n" + celery_worker_process.log())
    assert answer["token"] == token
    assert answer["worker_pid"] == celery_worker_process.process.pid
