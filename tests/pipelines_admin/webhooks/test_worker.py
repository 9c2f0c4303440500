"""A webhook delivered by a real worker process, through the configured broker, to the
loopback receiver."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from pipelines_admin.webhooks import services
from pipelines_admin.webhooks.events import BATCH_FINISHED
from pipelines_admin.webhooks.models import WebhookDelivery

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_event_publish__real_worker__delivered_to_the_receiver_after_commit(
    celery_worker_process, publisher, receiver
):
    # Given a webhook for finished batches
    created = services.subscription_create(
        actor=publisher, name="ops bot", url=receiver.url, events=[BATCH_FINISHED]
    )
    receiver.secret = created.secret
    # When an event is published in a transaction that commits
    with transaction.atomic():
        assert services.event_publish(event=BATCH_FINISHED, data={"batch_id": "b-1", "total": 2}) == 1
    # Then the worker delivers it, signed, and the log says so
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not WebhookDelivery.objects.filter(status="delivered").exists():
        time.sleep(0.2)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered", celery_worker_process.log()[-3000:]
    assert delivery.attempts == 1 and delivery.last_status_code == 200
    assert [a["delivery"] for a in receiver.accepted] == [str(delivery.delivery)]
    assert receiver.accepted[0]["body"]["data"] == {"batch_id": "b-1", "total": 2}
