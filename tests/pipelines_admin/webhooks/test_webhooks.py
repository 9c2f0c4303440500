"""Webhooks end to end against a real receiver on the loopback interface: signed
deliveries the receiver verifies (replays and stale timestamps refused), retries with
backoff while it is down (a simulated clock drives the sweep), auto-disable, re-send,
the secret encrypted at rest, no personal data in any event, and the subscription
filters."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.models import Environment, Pipeline
from pipelines_admin.configs.samples import sample_get
from pipelines_admin.core.errors import Conflict, InvalidInput, NotAllowed
from pipelines_admin.demo.pipelines import demo_pipelines_ensure
from pipelines_admin.runs import batches
from pipelines_admin.runs.services import run_execute, run_submit
from pipelines_admin.webhooks import services
from pipelines_admin.webhooks.events import BATCH_FINISHED, RELEASE_CREATED, REVIEW_NEEDED
from pipelines_admin.webhooks.models import WebhookDelivery, WebhookSubscription
from pipelines_admin.webhooks.signing import sign, verify

pytestmark = pytest.mark.django_db

APPLICANT = {"name": "Maria Garcia", "email": "maria.garcia@example.com", "date_of_birth": "1990-04-12"}


def subscribe(actor, receiver, events=(BATCH_FINISHED,), **scope) -> WebhookSubscription:
    created = services.subscription_create(
        actor=actor, name="ops bot", url=receiver.url, events=list(events), **scope
    )
    receiver.secret = created.secret
    return created.subscription


def publish(event=BATCH_FINISHED, **kwargs) -> list[WebhookDelivery]:
    before = set(WebhookDelivery.objects.values_list("pk", flat=True))
    services.event_publish(event=event, data={"batch_id": "b-1", "count": 3}, **kwargs)
    return list(WebhookDelivery.objects.exclude(pk__in=before).order_by("pk"))


class Clock:
    """timezone.now, moved by hand."""

    def __init__(self, monkeypatch):
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def synchronous_worker(monkeypatch):
    """The sweep's sends run the delivery at once, as a worker would."""
    sent = []

    def send(delivery_id):
        sent.append(delivery_id)
        services.delivery_attempt(delivery_id)
        return True

    monkeypatch.setattr(services, "delivery_send", send)
    return sent


# -- signing ---------------------------------------------------------------------------------


def test_sign__verify__same_secret_within_window_only():
    body = '{"id":"e","type":"batch.finished"}'
    signature = sign("s3cret", 1_700_000_000, body)
    assert signature.startswith("v1=") and len(signature) == 3 + 64
    assert verify("s3cret", "1700000000", signature, body, now=1_700_000_100)
    assert not verify("other", "1700000000", signature, body, now=1_700_000_100)
    assert not verify("s3cret", "1700000000", signature, body + " ", now=1_700_000_100)
    assert not verify("s3cret", "1700000000", signature, body, now=1_700_000_000 + 301)
    assert not verify("s3cret", "1700000001", signature, body, now=1_700_000_000)
    assert not verify("s3cret", None, signature, body) and not verify("s3cret", "x", signature, body)


# -- a delivery to the real receiver -------------------------------------------------------


def test_delivery__running_receiver__signature_verified_delivered_and_logged(publisher, receiver):
    # Given a webhook for finished batches, and the receiver knowing its secret
    subscription = subscribe(publisher, receiver)
    # When a batch finishes and the worker sends the delivery
    (delivery,) = publish()
    sent = services.delivery_attempt(delivery.pk)
    # Then the receiver verified and accepted it, and the log says so
    assert sent is not None and sent.status == "delivered"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_response) == (
        "delivered",
        1,
        200,
        "ok",
    )
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    (got,) = receiver.accepted
    assert got["event"] == BATCH_FINISHED and got["delivery"] == str(delivery.delivery)
    assert got["body"] == json.loads(delivery.body)
    assert got["body"]["type"] == BATCH_FINISHED and got["body"]["id"] == str(delivery.event_id)
    assert set(got["body"]) == {"id", "type", "occurred_at", "pipeline", "environment", "data"}
    # and sending it again does nothing: it is delivered
    assert services.delivery_attempt(delivery.pk) is None
    assert len(receiver.accepted) == 1 and subscription.deliveries.count() == 1


def _post(receiver, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(receiver.url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_receiver__replayed_delivery_and_stale_timestamp__refused(publisher, receiver):
    # Given a delivery the receiver accepted, its headers captured
    subscribe(publisher, receiver)
    (delivery,) = publish()
    services.delivery_attempt(delivery.pk)
    delivery.refresh_from_db()
    secret = services.subscription_secret(delivery.subscription)
    now = int(time.time())
    fresh = services.delivery_headers(delivery, secret, now)
    # When the same request is sent again (a replay within the window)
    # Then the receiver refuses it: it saw that delivery id
    assert _post(receiver, delivery.body.encode(), fresh) == 409
    # When a correctly signed request comes with a timestamp ten minutes old
    stale = services.delivery_headers(delivery, secret, now - 600)
    stale["X-Pipelines-Delivery"] = "00000000-0000-0000-0000-000000000001"
    # Then it is refused as stale; and one signed with another secret as forged
    assert _post(receiver, delivery.body.encode(), stale) == 401
    forged = services.delivery_headers(delivery, "not-the-secret", now)
    forged["X-Pipelines-Delivery"] = "00000000-0000-0000-0000-000000000002"
    assert _post(receiver, delivery.body.encode(), forged) == 401
    assert len(receiver.accepted) == 1


# -- retries, the sweep, auto-disable ---------------------------------------------------------


def test_delivery__receiver_down__retried_with_backoff_then_arrives_once_nothing_lost(
    publisher, down_receiver, synchronous_worker, monkeypatch, settings
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.WEBHOOK_RETRY_MAX_SECONDS = 100
    settings.WEBHOOK_MAX_ATTEMPTS = 6
    clock = Clock(monkeypatch)
    # Given a webhook whose receiver is down
    subscribe(publisher, down_receiver)
    (delivery,) = publish()
    t0 = clock.now
    # When the worker tries it: the connection is refused
    services.delivery_attempt(delivery.pk)
    delivery.refresh_from_db()
    # Then it waits for its next attempt, 30 s later, with the error logged
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_status_code is None and "cannot reach" in delivery.last_error
    assert delivery.next_attempt_at == t0 + timedelta(seconds=30)
    # When the sweep runs before it is due: nothing is sent
    clock.advance(10)
    assert services.deliveries_sweep() == 0
    # When it is due: tried again, failing again, and the wait doubles (60 s), then is capped (100 s)
    clock.advance(21)
    assert services.deliveries_sweep() == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.next_attempt_at == clock.now + timedelta(seconds=60)
    clock.advance(60)
    services.deliveries_sweep()
    delivery.refresh_from_db()
    assert delivery.attempts == 3 and delivery.next_attempt_at == clock.now + timedelta(seconds=100)
    # When the receiver is up again and the next attempt is due
    down_receiver.start()
    clock.advance(50)
    assert services.deliveries_sweep() == 0  # not yet due
    clock.advance(50)
    services.deliveries_sweep()
    # Then it arrives, once; later sweeps send nothing more
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 4, 200)
    clock.advance(3600)
    assert services.deliveries_sweep() == 0
    assert len(down_receiver.accepted) == 1
    assert delivery.subscription.consecutive_failures == 0


def test_delivery__never_reached_the_broker__sweep_sends_it(publisher, receiver, synchronous_worker):
    # Given a delivery whose send after commit never happened (the broker was down)
    subscribe(publisher, receiver)
    (delivery,) = publish()
    # When the sweep runs / Then it is sent and delivered
    assert services.deliveries_sweep() == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and len(receiver.accepted) == 1


def test_delivery__claimed_by_a_worker__a_second_worker_does_not_send_it(publisher, receiver, monkeypatch):
    subscribe(publisher, receiver)
    (delivery,) = publish()
    # Given a worker that claimed the delivery and is still sending it
    assert services._claim(delivery.pk, timezone.now()) is not None
    # When another worker gets the same delivery / Then it leaves it alone
    assert services.delivery_attempt(delivery.pk) is None
    assert receiver.accepted == []


def test_subscription__deliveries_fail_repeatedly__disabled_with_the_reason_shown(
    publisher, viewer, receiver, client, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    settings.WEBHOOK_DISABLE_AFTER = 3
    receiver.answer = 500
    subscription = subscribe(publisher, receiver)
    # When three deliveries in a row fail for good
    for _ in range(3):
        (delivery,) = publish()
        services.delivery_attempt(delivery.pk)
    # Then the webhook is disabled, saying why, and the audit trail has it
    subscription.refresh_from_db()
    assert not subscription.active and subscription.disabled_at is not None
    assert "3 deliveries in a row failed" in subscription.disabled_reason
    assert "HTTP 500" in subscription.disabled_reason
    event = AuditEvent.objects.get(action="webhook.disabled")
    assert event.actor_name == "system" and event.data["consecutive_failures"] == 3
    # and nothing more is published to it
    assert publish() == []
    # and the list and its page show it disabled with the reason
    client.force_login(viewer)
    for url in ("/webhooks/", f"/webhooks/{subscription.pk}/"):
        html = client.get(url).content.decode()
        assert "disabled" in html and "3 deliveries in a row failed" in html, url
    # When a publisher enables it again / Then the count restarts
    services.subscription_enable(subscription=subscription, actor=publisher)
    subscription.refresh_from_db()
    assert (
        subscription.active and subscription.consecutive_failures == 0 and subscription.disabled_reason == ""
    )


def test_subscription__failure_then_success__count_reset(publisher, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.answer = 503
    subscription = subscribe(publisher, receiver)
    (failed,) = publish()
    services.delivery_attempt(failed.pk)
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 1
    failed.refresh_from_db()
    assert (failed.status, failed.last_status_code) == ("failed", 503)
    receiver.answer = 200
    (ok,) = publish()
    services.delivery_attempt(ok.pk)
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0


def test_resend__delivered_event__new_delivery_same_event_id_accepted_again(publisher, viewer, receiver):
    subscribe(publisher, receiver)
    (delivery,) = publish()
    services.delivery_attempt(delivery.pk)
    # When a publisher re-sends it
    again = services.delivery_resend(delivery=delivery, actor=publisher)
    # Then it is a new delivery of the same event: the same body and event id, its own id and attempts
    assert again.pk != delivery.pk and again.delivery != delivery.delivery
    assert (again.event_id, again.body, again.attempts, again.status) == (
        delivery.event_id,
        delivery.body,
        0,
        "pending",
    )
    services.delivery_attempt(again.pk)
    assert [a["delivery"] for a in receiver.accepted] == [str(delivery.delivery), str(again.delivery)]
    assert receiver.accepted[0]["body"]["id"] == receiver.accepted[1]["body"]["id"]
    assert AuditEvent.objects.filter(action="webhook.delivery_resent").count() == 1
    # and a viewer may not re-send
    with pytest.raises(NotAllowed):
        services.delivery_resend(delivery=delivery, actor=viewer)
    # and a disabled webhook re-sends nothing until enabled
    services.subscription_disable(subscription=delivery.subscription, actor=publisher, reason="maintenance")
    with pytest.raises(Conflict):
        services.delivery_resend(delivery=delivery, actor=publisher)


# -- the secret ------------------------------------------------------------------------------


def test_secret__stored_encrypted__the_column_never_holds_it(publisher, receiver):
    subscription = subscribe(publisher, receiver)
    secret = receiver.secret
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT secret_encrypted FROM {WebhookSubscription._meta.db_table} WHERE id = %s",  # noqa: S608
            [subscription.pk],
        )
        (stored,) = cursor.fetchone()
    assert secret not in stored and secret[6:20] not in stored and stored.startswith("gAAAA")
    assert services.subscription_secret(subscription) == secret
    # and rotating makes a new one that signs from then on
    rotated = services.subscription_rotate_secret(subscription=subscription, actor=publisher)
    subscription.refresh_from_db()
    assert rotated != secret and services.subscription_secret(subscription) == rotated
    assert not AuditEvent.objects.filter(data__icontains=secret).exists()


# -- no personal data ------------------------------------------------------------------------


def test_events__batch_and_review_of_applications_with_names_and_emails__no_personal_data(
    publisher, superuser, editor, receiver, released, environments
):
    # Given a webhook for every event, everywhere
    subscribe(publisher, receiver, events=[BATCH_FINISHED, REVIEW_NEEDED, "alert.fired"])
    development = environments["development"]
    # When a batch of an application finishes
    batch = batches.batch_create(
        pipeline=released,
        environment=development,
        filename="apps.jsonl",
        data=json.dumps(APPLICANT).encode(),
        actor=editor,
    )
    for chunk in batch.chunks.all():
        batches.batch_chunk_process(chunk.pk)
    # and the demo onboarding sends a PEP hit to review
    demo_pipelines_ensure(actor=superuser)
    pep = sample_get("pep-hit")["record"]
    onboarding = Pipeline.objects.get(slug="customer-onboarding")
    run = run_execute(run_submit(pipeline=onboarding, environment=development, record=pep, actor=editor).pk)
    assert run is not None and run.status == "review"
    # Then the events were published, with ids and counts
    finished = WebhookDelivery.objects.get(event=BATCH_FINISHED)
    review = WebhookDelivery.objects.get(event=REVIEW_NEEDED)
    finished_body, review_body = json.loads(finished.body), json.loads(review.body)
    assert (
        finished_body["data"]["batch_id"] == str(batch.pk) and finished_body["data"]["status"] == "completed"
    )
    assert finished_body["data"]["total"] == 1 and finished_body["pipeline"] == "onboarding"
    assert review_body["data"] == {"count": 1, "batch_id": None, "run_ids": [str(run.pk)]}
    assert review_body["environment"] == "development"
    # and no body holds any of the applicants' values
    values = [v for record in (APPLICANT, pep) for v in record.values() if isinstance(v, str) and len(v) > 3]
    for delivery in WebhookDelivery.objects.all():
        for value in values:
            assert value not in delivery.body, (delivery.event, value)
        services.delivery_attempt(delivery.pk)
    assert {a["event"] for a in receiver.accepted} >= {BATCH_FINISHED, REVIEW_NEEDED}


# -- matching ---------------------------------------------------------------------------------


def test_event_publish__pipeline_environment_and_event_filters__only_matching_active_subscriptions(
    publisher, editor, small_pipeline_document, environments, receiver
):
    other = config_services.pipeline_create(
        slug="other", name="Other", document=small_pipeline_document, author=editor
    )
    onboarding = config_services.pipeline_create(
        slug="onboarding", name="Onboarding", document=small_pipeline_document, author=editor
    )
    dev, prod = environments["development"], environments["production"]

    def make(name, events=(RELEASE_CREATED,), **scope):
        return services.subscription_create(
            actor=publisher, name=name, url=receiver.url, events=list(events), **scope
        ).subscription

    everything = make("everything")
    onboarding_only = make("onboarding only", pipeline=onboarding)
    production_only = make("production only", environment=prod)
    onboarding_dev = make("onboarding in dev", pipeline=onboarding, environment=dev)
    make("batches only", events=[BATCH_FINISHED])
    disabled = make("disabled")
    services.subscription_disable(subscription=disabled, actor=publisher)

    def targets(**scope) -> set[str]:
        return {d.subscription.name for d in publish(event=RELEASE_CREATED, **scope)}

    assert targets(pipeline=onboarding, environment=dev) == {
        everything.name,
        onboarding_only.name,
        onboarding_dev.name,
    }
    assert targets(pipeline=onboarding, environment=prod) == {
        everything.name,
        onboarding_only.name,
        production_only.name,
    }
    assert targets(pipeline=other, environment=dev) == {everything.name}
    assert targets() == {everything.name}
    assert services.event_publish(event=RELEASE_CREATED, pipeline=other, environment=dev, data={}) == 1
    with pytest.raises(ValueError):
        services.event_publish(event="no.such_event", data={})


# -- managing subscriptions ----------------------------------------------------------------


def test_subscription_create__bad_url_or_events_or_role__refused(publisher, editor, viewer):
    with pytest.raises(InvalidInput) as bad:
        services.subscription_create(actor=publisher, name="x", url="ftp://example.com/", events=["nope"])
    assert set(bad.value.extra["fields"]) == {"url", "events"}
    with pytest.raises(InvalidInput):
        services.subscription_create(actor=publisher, name="x", url="https://example.com/", events=[])
    for actor in (editor, viewer):
        with pytest.raises(NotAllowed):
            services.subscription_create(
                actor=actor, name="x", url="https://example.com/", events=[RELEASE_CREATED]
            )
    assert WebhookSubscription.objects.count() == 0


def test_subscription__update_and_delete__audited(publisher, environments):
    created = services.subscription_create(
        actor=publisher, name="ops", url="https://hooks.example.com/a", events=[RELEASE_CREATED]
    )
    subscription = services.subscription_update(
        subscription=created.subscription,
        actor=publisher,
        url="https://hooks.example.com/b",
        environment=Environment.objects.get(name="production"),
    )
    assert subscription.url.endswith("/b") and subscription.environment.name == "production"
    changed = AuditEvent.objects.get(action="webhook.updated").data["changed"]
    assert set(changed) == {"url", "environment"}
    services.subscription_delete(subscription=subscription, actor=publisher)
    assert not WebhookSubscription.objects.exists()
    assert AuditEvent.objects.filter(action="webhook.deleted").count() == 1


def test_retry_delay__doubles_and_is_capped(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    settings.WEBHOOK_RETRY_MAX_SECONDS = 70
    assert [services.retry_delay(n) for n in range(1, 6)] == [10, 20, 40, 70, 70]


def test_event_body__exact_shape():
    body = services.event_body(
        event_id="e1",
        event=BATCH_FINISHED,
        occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        pipeline="onboarding",
        environment=None,
        data={"count": 2},
    )
    assert json.loads(body) == {
        "id": "e1",
        "type": BATCH_FINISHED,
        "occurred_at": "2026-01-02T03:04:05+00:00",
        "pipeline": "onboarding",
        "environment": None,
        "data": {"count": 2},
    }
