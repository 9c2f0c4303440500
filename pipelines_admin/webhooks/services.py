"""Webhook subscriptions, publishing events, and delivering them signed.

Managing subscriptions needs the publisher role (or a superuser): each write is audited
in its transaction. `event_publish` is called inside the transaction of the change it
tells about: it stores one `WebhookDelivery` per matching active subscription and hands
each to the worker once that transaction commits (nothing is sent for a change that
rolled back).

Delivery (`delivery_attempt`, the worker's job): the delivery is claimed under its row
lock (one more attempt, `claimed_until` a little past the timeout), so two workers never
send it at the same time; the POST happens outside any transaction; the outcome is
written only while the claim is still the one taken. A 2xx answer delivers it; anything
else (another status, a refused connection, a timeout) records the answer and schedules
the next attempt after WEBHOOK_RETRY_BASE_SECONDS * 2**(attempts-1) (at most
WEBHOOK_RETRY_MAX_SECONDS), until WEBHOOK_MAX_ATTEMPTS attempts: then it failed. A
subscription whose deliveries failed WEBHOOK_DISABLE_AFTER times in a row is disabled,
saying why; a delivered one resets the count. The sweep (`deliveries_sweep`, beat) sends
what is due: retries, and deliveries the broker never got or a dead worker left claimed.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from pipelines_admin.accounts.permissions import ENVIRONMENT_CHANGE, can
from pipelines_admin.audit.services import audit_record
from pipelines_admin.configs.models import Environment, Pipeline
from pipelines_admin.core.errors import Conflict, InvalidInput, NotAllowed
from pipelines_admin.webhooks import tasks
from pipelines_admin.webhooks.cipher import decrypt_text, encrypt_text
from pipelines_admin.webhooks.events import EVENTS
from pipelines_admin.webhooks.models import (
    RESPONSE_KEEP_CHARS,
    WebhookDelivery,
    WebhookSubscription,
    webhook_url,
)
from pipelines_admin.webhooks.signing import sign

logger = logging.getLogger(__name__)

NAME_MAX = 100
URL_MAX = 500
USER_AGENT = "pipelines-webhooks/1"
#: a claim outlasts the request's timeout by this much (then the sweep may send it again)
CLAIM_SLACK_SECONDS = 30
#: sentinel: a field subscription_update was not asked to change
UNCHANGED: Any = object()


@dataclass(frozen=True)
class CreatedSubscription:
    subscription: WebhookSubscription
    #: the signing secret, in clear: shown once, kept only encrypted
    secret: str


# -- who may -------------------------------------------------------------------------------


def may_manage(user) -> bool:
    """Publishers and superusers: those who may change a protected environment."""
    return can(user, ENVIRONMENT_CHANGE, Environment(protected=True))


def _require_manage(actor) -> None:
    if not may_manage(actor):
        raise NotAllowed(
            "Only publishers (and administrators) manage webhooks.", {"action": "webhook.manage"}
        )


# -- checks --------------------------------------------------------------------------------


def _clean(*, name: str, url: str, events: Any) -> tuple[str, str, list[str]]:
    problems: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        problems["name"] = ["Give the webhook a name."]
    elif len(name) > NAME_MAX:
        problems["name"] = [f"At most {NAME_MAX} characters."]
    url = (url or "").strip()
    try:
        if len(url) > URL_MAX:
            raise ValidationError(f"At most {URL_MAX} characters.")
        webhook_url(url)
    except ValidationError as exc:
        problems["url"] = [
            exc.messages[0] if "characters" in exc.messages[0] else "Enter an http:// or https:// URL."
        ]
    if not isinstance(events, (list, tuple)) or not all(isinstance(e, str) for e in events):
        problems["events"] = ["A list of event types."]
        events = []
    else:
        unknown = [e for e in events if e not in EVENTS]
        if unknown:
            problems["events"] = [f"Unknown event type: {', '.join(unknown)}."]
        elif not events:
            problems["events"] = ["Choose one event or more."]
    if problems:
        raise InvalidInput(
            "The webhook is not valid: " + " ".join(m for ms in problems.values() for m in ms),
            {"fields": problems},
        )
    # in the order of webhooks.events, each once
    return name, url, [e for e in EVENTS if e in set(events)]


def _scope(pipeline: Pipeline | None, environment: Environment | None) -> dict:
    return {
        "pipeline": pipeline.slug if pipeline is not None else None,
        "environment": environment.name if environment is not None else None,
    }


def _audit(subscription: WebhookSubscription, *, actor, action: str, data: dict | None = None) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type="webhook",
        object_id=subscription.pk,
        object_repr=subscription.name,
        pipeline=subscription.pipeline.slug if subscription.pipeline_id and subscription.pipeline else "",
        environment=(
            subscription.environment.name if subscription.environment_id and subscription.environment else ""
        ),
        data=data or {},
    )


def _locked(subscription: WebhookSubscription) -> WebhookSubscription:
    locked = (
        WebhookSubscription.objects.select_for_update(of=("self",))
        .select_related("pipeline", "environment")
        .filter(pk=subscription.pk)
        .first()
    )
    if locked is None:
        raise Conflict("This webhook was deleted meanwhile.")
    return locked


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def subscription_secret(subscription: WebhookSubscription) -> str:
    """The signing secret in clear (for signing deliveries; never for display)."""
    return decrypt_text(subscription.secret_encrypted)


# -- subscriptions -------------------------------------------------------------------------


@transaction.atomic
def subscription_create(
    *,
    actor,
    name: str,
    url: str,
    events: list[str],
    pipeline: Pipeline | None = None,
    environment: Environment | None = None,
) -> CreatedSubscription:
    """A new active subscription, and its signing secret (in this answer only)."""
    _require_manage(actor)
    name, url, events = _clean(name=name, url=url, events=events)
    secret = new_secret()
    subscription = WebhookSubscription.objects.create(
        name=name,
        url=url,
        pipeline=pipeline,
        environment=environment,
        events=events,
        secret_encrypted=encrypt_text(secret),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _audit(
        subscription,
        actor=actor,
        action="webhook.created",
        data={"url": url, "events": events, **_scope(pipeline, environment)},
    )
    return CreatedSubscription(subscription, secret)


@transaction.atomic
def subscription_update(
    *,
    subscription: WebhookSubscription,
    actor,
    name: str = UNCHANGED,
    url: str = UNCHANGED,
    events: list[str] = UNCHANGED,
    pipeline: Pipeline | None = UNCHANGED,
    environment: Environment | None = UNCHANGED,
) -> WebhookSubscription:
    """Change what is given (the others stay); the secret is changed by rotating it."""
    _require_manage(actor)
    subscription = _locked(subscription)
    before = {
        "name": subscription.name,
        "url": subscription.url,
        "events": list(subscription.events),
        **_scope(subscription.pipeline, subscription.environment),
    }
    name, url, events = _clean(
        name=subscription.name if name is UNCHANGED else name,
        url=subscription.url if url is UNCHANGED else url,
        events=subscription.events if events is UNCHANGED else events,
    )
    subscription.name, subscription.url, subscription.events = name, url, events
    if pipeline is not UNCHANGED:
        subscription.pipeline = pipeline
    if environment is not UNCHANGED:
        subscription.environment = environment
    after = {
        "name": name,
        "url": url,
        "events": events,
        **_scope(subscription.pipeline, subscription.environment),
    }
    changed = {key: {"from": before[key], "to": after[key]} for key in after if before[key] != after[key]}
    if not changed:
        return subscription
    subscription.save()
    _audit(subscription, actor=actor, action="webhook.updated", data={"changed": changed})
    return subscription


@transaction.atomic
def subscription_rotate_secret(*, subscription: WebhookSubscription, actor) -> str:
    """A new signing secret (returned, to be shown once); the old one signs nothing more.
    Deliveries still waiting are signed with the new one when they are sent."""
    _require_manage(actor)
    subscription = _locked(subscription)
    secret = new_secret()
    subscription.secret_encrypted = encrypt_text(secret)
    subscription.save(update_fields=["secret_encrypted", "updated_at"])
    _audit(subscription, actor=actor, action="webhook.secret_rotated")
    return secret


@transaction.atomic
def subscription_enable(*, subscription: WebhookSubscription, actor) -> WebhookSubscription:
    """Active again, its failure count reset; its waiting deliveries are sent by the sweep."""
    _require_manage(actor)
    subscription = _locked(subscription)
    if subscription.active:
        return subscription
    previous = subscription.disabled_reason
    subscription.active, subscription.disabled_at, subscription.disabled_reason = True, None, ""
    subscription.consecutive_failures = 0
    subscription.save(
        update_fields=["active", "disabled_at", "disabled_reason", "consecutive_failures", "updated_at"]
    )
    _audit(subscription, actor=actor, action="webhook.enabled", data={"was_disabled_because": previous})
    return subscription


def _disable(subscription: WebhookSubscription, *, actor, reason: str, now=None) -> None:
    subscription.active, subscription.disabled_at = False, now or timezone.now()
    subscription.disabled_reason = reason[:300]
    subscription.save(update_fields=["active", "disabled_at", "disabled_reason", "updated_at"])
    _audit(
        subscription,
        actor=actor,
        action="webhook.disabled",
        data={
            "reason": subscription.disabled_reason,
            "consecutive_failures": subscription.consecutive_failures,
        },
    )


@transaction.atomic
def subscription_disable(
    *, subscription: WebhookSubscription, actor, reason: str = ""
) -> WebhookSubscription:
    """Nothing more is sent (its deliveries wait) until it is enabled again."""
    _require_manage(actor)
    subscription = _locked(subscription)
    if not subscription.active:
        return subscription
    who = actor.get_username() if getattr(actor, "pk", None) else "someone"
    _disable(subscription, actor=actor, reason=(reason or "").strip() or f"Disabled by {who}.")
    return subscription


@transaction.atomic
def subscription_delete(*, subscription: WebhookSubscription, actor) -> None:
    """Gone, with its delivery log; the audit trail keeps that it was."""
    _require_manage(actor)
    subscription = _locked(subscription)
    deliveries = subscription.deliveries.count()
    _audit(
        subscription,
        actor=actor,
        action="webhook.deleted",
        data={"url": subscription.url, "deliveries": deliveries},
    )
    subscription.delete()


# -- events --------------------------------------------------------------------------------


def event_body(
    *, event_id: uuid.UUID, event: str, occurred_at, pipeline: str | None, environment: str | None, data: dict
) -> str:
    """The exact JSON text of an event (what every delivery of it sends and signs)."""
    return json.dumps(
        {
            "id": str(event_id),
            "type": event,
            "occurred_at": occurred_at.isoformat(),
            "pipeline": pipeline,
            "environment": environment,
            "data": data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )


def event_publish(
    *,
    event: str,
    pipeline: Pipeline | None = None,
    environment: Environment | None = None,
    data: dict,
) -> int:
    """Store one delivery of `event` per active subscription that asks for it (of this
    pipeline or all, of this environment or all), sent to the worker once the caller's
    transaction commits. Call it inside the transaction of the change it tells about.
    `data`: ids, names, hashes, counts, usernames; never a field of an application.
    How many deliveries were made."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    subscriptions = WebhookSubscription.objects.filter(active=True)
    subscriptions = subscriptions.filter(
        Q(pipeline__isnull=True) | Q(pipeline_id=pipeline.pk if pipeline is not None else None)
    ).filter(
        Q(environment__isnull=True) | Q(environment_id=environment.pk if environment is not None else None)
    )
    matching = [s for s in subscriptions.only("id", "events") if event in (s.events or [])]
    if not matching:
        return 0
    now = timezone.now()
    event_id = uuid.uuid4()
    body = event_body(
        event_id=event_id,
        event=event,
        occurred_at=now,
        pipeline=pipeline.slug if pipeline is not None else None,
        environment=environment.name if environment is not None else None,
        data=data,
    )
    with transaction.atomic():
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    subscription_id=s.pk, event_id=event_id, event=event, body=body, next_attempt_at=now
                )
                for s in matching
            ]
        )
        ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: [delivery_send(pk) for pk in ids])
    return len(ids)


# -- delivering ----------------------------------------------------------------------------


def delivery_send(delivery_id) -> bool:
    """Hand the delivery to the broker; when it is down the sweep sends it later."""
    try:
        tasks.deliver.apply_async(args=[delivery_id], retry=False)
    except Exception as exc:  # noqa: BLE001 - the broker is unreachable: the sweep sends it later
        logger.warning(
            "webhook delivery %s waits for the sweep: broker unavailable (%s)",
            delivery_id,
            type(exc).__name__,
        )
        return False
    return True


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones."""
    return float(
        min(
            settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0),
            settings.WEBHOOK_RETRY_MAX_SECONDS,
        )
    )


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    body: str
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other non-2xx: never followed with the body."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _read(response) -> str:
    return response.read(RESPONSE_KEEP_CHARS * 4).decode("utf-8", "replace")[:RESPONSE_KEEP_CHARS]


def post(url: str, body: str, headers: dict[str, str], *, timeout: float) -> Answer:
    """POST `body`; the receiver's answer, or why there was none. Never raises."""
    request = urllib.request.Request(  # noqa: S310 - the URL was checked to be http(s) when saved
        url, data=body.encode("utf-8"), headers=headers, method="POST"
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Answer(response.status, _read(response), "")
    except urllib.error.HTTPError as error:
        try:
            text = _read(error)
        except Exception:  # noqa: BLE001 - the answer's body is only kept for the log
            text = ""
        error.close()
        return Answer(error.code, text, f"HTTP {error.code} {error.reason}")
    except urllib.error.URLError as error:
        if isinstance(error.reason, (TimeoutError, socket.timeout)):
            return Answer(None, "", f"no answer within {timeout:g} s")
        return Answer(None, "", f"cannot reach the receiver: {error.reason}")
    except TimeoutError:
        return Answer(None, "", f"no answer within {timeout:g} s")
    except (ConnectionError, OSError, ValueError) as error:
        return Answer(None, "", f"connection failed: {error}")


def _claim(delivery_id, now) -> tuple[WebhookDelivery, str] | None:
    """Take the delivery for this attempt (one more attempt, claimed until the timeout has
    passed): None when it is not due, finished, its subscription is disabled, or another
    worker is sending it."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING, subscription__active=True)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .first()
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.claimed_until = now + timedelta(
            seconds=settings.WEBHOOK_TIMEOUT_SECONDS + CLAIM_SLACK_SECONDS
        )
        delivery.save(update_fields=["attempts", "claimed_until"])
        return delivery, subscription_secret(delivery.subscription)


def delivery_headers(delivery: WebhookDelivery, secret: str, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Pipelines-Event": delivery.event,
        "X-Pipelines-Delivery": str(delivery.delivery),
        "X-Pipelines-Timestamp": str(timestamp),
        "X-Pipelines-Signature": sign(secret, timestamp, delivery.body),
    }


def delivery_attempt(delivery_id, *, now=None) -> WebhookDelivery | None:
    """Send one delivery (the worker's job): None when there was nothing to send."""
    claimed = _claim(delivery_id, now or timezone.now())
    if claimed is None:
        return None
    delivery, secret = claimed
    timestamp = int(time.time())  # the real clock: the receiver checks it against its own
    answer = post(
        delivery.subscription.url,
        delivery.body,
        delivery_headers(delivery, secret, timestamp),
        timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
    )
    return _outcome(delivery, answer, now=now)


def _outcome(delivery: WebhookDelivery, answer: Answer, *, now=None) -> WebhookDelivery | None:
    """Write the attempt's outcome while the claim is still this one's."""
    with transaction.atomic():
        owned = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .filter(pk=delivery.pk, status=WebhookDelivery.Status.PENDING, attempts=delivery.attempts)
            .first()
        )
        if owned is None:
            return None
        now = now or timezone.now()
        owned.last_status_code, owned.last_response = answer.status_code, answer.body
        owned.last_error, owned.last_attempt_at, owned.claimed_until = answer.error[:500], now, None
        subscription = WebhookSubscription.objects.select_for_update().get(pk=owned.subscription_id)
        if answer.ok:
            owned.status, owned.delivered_at, owned.next_attempt_at = (
                WebhookDelivery.Status.DELIVERED,
                now,
                None,
            )
            if subscription.consecutive_failures:
                subscription.consecutive_failures = 0
                subscription.save(update_fields=["consecutive_failures"])
        elif owned.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            owned.status, owned.next_attempt_at = WebhookDelivery.Status.FAILED, None
            subscription.consecutive_failures += 1
            subscription.save(update_fields=["consecutive_failures"])
            if subscription.active and subscription.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER:
                _disable(
                    subscription,
                    actor=None,
                    reason=f"Disabled automatically: {subscription.consecutive_failures} deliveries in a row "
                    f"failed (each after {settings.WEBHOOK_MAX_ATTEMPTS} attempts); the last: {owned.last_error}",
                    now=now,
                )
        else:
            owned.next_attempt_at = now + timedelta(seconds=retry_delay(owned.attempts))
        owned.save(
            update_fields=[
                "status",
                "last_status_code",
                "last_response",
                "last_error",
                "last_attempt_at",
                "claimed_until",
                "delivered_at",
                "next_attempt_at",
            ]
        )
    return owned


@transaction.atomic
def delivery_resend(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """Send the event again, as a new delivery (a new delivery id, its own attempts) of
    the same event (the same body and event id, so the receiver can tell it had it)."""
    _require_manage(actor)
    subscription = _locked(delivery.subscription)
    if not subscription.active:
        raise Conflict(
            "This webhook is disabled: enable it first, then re-send.", {"webhook": subscription.pk}
        )
    now = timezone.now()
    again = WebhookDelivery.objects.create(
        subscription=subscription,
        event_id=delivery.event_id,
        event=delivery.event,
        body=delivery.body,
        next_attempt_at=now,
    )
    _audit(
        subscription,
        actor=actor,
        action="webhook.delivery_resent",
        data={"event": delivery.event, "event_id": str(delivery.event_id), "delivery": str(again.delivery)},
    )
    transaction.on_commit(lambda: delivery_send(again.pk))
    return again


def deliveries_sweep(now=None, *, limit: int = 200) -> int:
    """Send the deliveries that are due (retries; deliveries the broker lost or never got;
    claims whose worker died): how many were sent."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, subscription__active=True, next_attempt_at__lte=now
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(delivery_send(pk) for pk in due)
