"""The Webhooks area: every subscription (and a new one), one subscription with its
delivery log: change it, enable or disable it, rotate its secret, delete it, re-send a
delivery.

Everyone with a console role sees the list and the log; publishers (and superusers)
manage them. Every write goes through pipelines_admin.webhooks.services, which checks
the role and records it in the audit trail; the checks here only decide what to offer.
A signing secret is in the answer that made it (creating, rotating) and nowhere else."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from pipelines_admin.console.forms.webhooks import DisableForm, WebhookForm
from pipelines_admin.console.http import HtmxHttpRequest
from pipelines_admin.console.paging import paginate
from pipelines_admin.core.errors import InvalidInput
from pipelines_admin.webhooks import selectors, services
from pipelines_admin.webhooks.events import EVENTS
from pipelines_admin.webhooks.signing import TOLERANCE_SECONDS

MANAGE_ROLE = "publisher"


def _errors_into(form, exc: InvalidInput) -> None:
    fields = exc.extra.get("fields") if isinstance(exc.extra, dict) else None
    placed = False
    for field, errors in (fields or {}).items():
        if field in form.fields:
            for error in errors:
                form.add_error(field, str(error))
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def _shared(request) -> dict:
    return {
        "section": "webhooks",
        "can_manage": services.may_manage(request.user),
        "manage_role": MANAGE_ROLE,
        "event_labels": EVENTS,
        "tolerance": TOLERANCE_SECONDS,
    }


def _secret_page(request, subscription, secret: str, *, rotated: bool):
    context = {
        **_shared(request),
        "subscription": subscription,
        "secret": secret,
        "rotated": rotated,
    }
    response = render(request, "console/webhooks/secret.html", context)
    response["Cache-Control"] = "no-store"  # the secret is in this answer only
    return response


@require_http_methods(["GET", "POST"])
def webhooks(request: HtmxHttpRequest):
    """Every subscription; publishers add one here (its secret is shown once, next)."""
    form = WebhookForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                created = services.subscription_create(actor=request.user, **form.cleaned_data)
            except InvalidInput as exc:
                _errors_into(form, exc)
            else:
                return _secret_page(request, created.subscription, created.secret, rotated=False)
    rows = list(selectors.subscriptions())
    context = {
        **_shared(request),
        "subscriptions": rows,
        "disabled": [s for s in rows if not s.active],
        "form": form,
    }
    return render(request, "console/webhooks/list.html", context, status=status)


def _detail(request, subscription, form, *, status: int = 200):
    page, query = paginate(request, selectors.deliveries(subscription))
    context = {
        **_shared(request),
        "subscription": subscription,
        "form": form,
        "disable_form": DisableForm(),
        "page": page,
        "query": query,
        "max_attempts": settings.WEBHOOK_MAX_ATTEMPTS,
        "disable_after": settings.WEBHOOK_DISABLE_AFTER,
    }
    return render(request, "console/webhooks/detail.html", context, status=status)


def _initial(subscription) -> dict:
    return {
        "name": subscription.name,
        "url": subscription.url,
        "pipeline": subscription.pipeline.slug if subscription.pipeline_id else None,
        "environment": subscription.environment.name if subscription.environment_id else None,
        "events": list(subscription.events),
    }


@require_http_methods(["GET", "POST"])
def webhook(request: HtmxHttpRequest, webhook_id: int):
    """One subscription: its settings (publishers change them here) and its delivery log."""
    subscription = selectors.subscription_get(webhook_id)
    if request.method == "GET":
        return _detail(request, subscription, WebhookForm(initial=_initial(subscription)))
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            services.subscription_update(subscription=subscription, actor=request.user, **form.cleaned_data)
        except InvalidInput as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, f"Webhook “{form.cleaned_data['name']}” saved.")
            return redirect("console:webhook", webhook_id=subscription.pk)
    return _detail(request, subscription, form, status=400)


@require_POST
def enable(request: HtmxHttpRequest, webhook_id: int):
    subscription = services.subscription_enable(
        subscription=selectors.subscription_get(webhook_id), actor=request.user
    )
    messages.success(request, f"Webhook “{subscription.name}” enabled: waiting deliveries are sent now.")
    return redirect("console:webhook", webhook_id=subscription.pk)


@require_POST
def disable(request: HtmxHttpRequest, webhook_id: int):
    form = DisableForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    subscription = services.subscription_disable(
        subscription=selectors.subscription_get(webhook_id), actor=request.user, reason=reason
    )
    messages.success(
        request, f"Webhook “{subscription.name}” disabled: nothing is sent to it until it is enabled."
    )
    return redirect("console:webhook", webhook_id=subscription.pk)


@require_POST
def rotate_secret(request: HtmxHttpRequest, webhook_id: int):
    subscription = selectors.subscription_get(webhook_id)
    secret = services.subscription_rotate_secret(subscription=subscription, actor=request.user)
    return _secret_page(request, subscription, secret, rotated=True)


@require_POST
def delete(request: HtmxHttpRequest, webhook_id: int):
    subscription = selectors.subscription_get(webhook_id)
    name = subscription.name
    services.subscription_delete(subscription=subscription, actor=request.user)
    messages.success(request, f"Webhook “{name}” deleted, with its delivery log.")
    return redirect("console:webhooks")


@require_POST
def resend(request: HtmxHttpRequest, webhook_id: int, delivery_id: int):
    subscription = selectors.subscription_get(webhook_id)
    delivery = selectors.delivery_get(delivery_id, subscription)
    again = services.delivery_resend(delivery=delivery, actor=request.user)
    messages.success(request, f"{delivery.event} queued again as delivery {again.delivery}.")
    return redirect("console:webhook", webhook_id=subscription.pk)
