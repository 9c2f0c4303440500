"""Change requests: the list (with what waits for you and what is scheduled), one
request's page (its diff, the release gate, approvals and their standing) and what may
be done with it: approve, reject, revise, withdraw, schedule, apply, break glass.

Every console change to an environment goes through `changes.services.change_submit`;
`change_opened` is what the other pages answer when it opened a request instead of
applying. Whether the user may act is for the services to say; the checks here only
decide what to offer."""

from __future__ import annotations

import json
from collections import OrderedDict

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from pipelines_admin.accounts.permissions import (
    BREAK_GLASS,
    CHANGE_APPROVE,
    ENVIRONMENT_CHANGE,
    can,
    role_needed,
)
from pipelines_admin.changes import selectors, services
from pipelines_admin.changes.models import ChangeRequest
from pipelines_admin.configs.diffs import text_diff
from pipelines_admin.configs.models import Environment
from pipelines_admin.configs.selectors import ConfigDiff
from pipelines_admin.console.forms.changes import (
    ApproveForm,
    BreakGlassForm,
    RejectForm,
    ReviseForm,
    ScheduleForm,
    WithdrawForm,
)
from pipelines_admin.console.http import HtmxHttpRequest
from pipelines_admin.console.paging import paginate
from pipelines_admin.core.errors import InvalidInput, ServiceError

#: the kinds whose payload the page lets the author revise (the others: withdraw and open anew)
REVISABLE = ("release", "override")
STATUS_FILTERS = [("", "any status"), *ChangeRequest.Status.choices]


def approvals_phrase(count: int) -> str:
    return f"{count} approval{'s' if count != 1 else ''} from another publisher"


def change_opened(request: HtmxHttpRequest, submitted) -> HttpResponse:
    """The answer of a console change that opened a change request instead of applying:
    say so, and go to the request (htmx: HX-Redirect)."""
    change = submitted.change_request
    environment = change.environment
    needs = approvals_phrase(environment.approvals_required)
    if environment.change_requests_required:
        why = f"{environment.name} needs {needs}"
    else:
        why = f"overriding the release gate needs {needs}"
    messages.success(request, f"Change request #{change.pk} opened: {why}.")
    url = reverse("console:change-request", kwargs={"pk": change.pk})
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


# -- the list ------------------------------------------------------------------------------


def _scheduled_by_environment() -> list[tuple[Environment, list[ChangeRequest]]]:
    grouped: OrderedDict[int, tuple[Environment, list[ChangeRequest]]] = OrderedDict()
    for change in selectors.upcoming_changes():
        grouped.setdefault(change.environment_id, (change.environment, []))[1].append(change)
    return sorted(grouped.values(), key=lambda g: (g[0].position, g[0].name))


@require_GET
def changes(request: HtmxHttpRequest):
    environments = list(Environment.objects.all())
    by_name = {e.name: e for e in environments}
    status = request.GET.get("status", "")
    status = status if status in ChangeRequest.Status.values else ""
    environment = by_name.get(request.GET.get("environment", ""))
    page, query = paginate(request, selectors.change_requests(environment=environment, status=status))
    context = {
        "section": "changes",
        "page": page,
        "query": query,
        "filters": {"status": status, "environment": environment.name if environment else ""},
        "statuses": STATUS_FILTERS,
        "environments": environments,
        "waiting": selectors.waiting_for(request.user),
        "scheduled": _scheduled_by_environment(),
        "can_approve": can(request.user, CHANGE_APPROVE),
        "controlled": [e for e in environments if e.change_requests_required],
    }
    template = "console/changes/list.html#table" if request.htmx else "console/changes/list.html"
    return render(request, template, context)


# -- one request ---------------------------------------------------------------------------


def _diff(standing) -> ConfigDiff | None:
    plan = standing.plan
    if plan is None:
        return None
    change = standing.request
    before = "live" if change.kind in ChangeRequest.PIPELINE_KINDS else "now"
    return ConfigDiff(
        before, "proposed", plan.changes, text_diff(plan.before, plan.after, before, "proposed")
    )


def _revise_form(change: ChangeRequest, data=None) -> ReviseForm | None:
    if change.kind not in REVISABLE or change.pipeline is None:
        return None
    payload = change.payload if isinstance(change.payload, dict) else {}
    override = payload.get("override") or {}
    initial = {
        "version": payload.get("version"),
        "override": json.dumps(override, indent=2, ensure_ascii=False) if override else "",
    }
    versions = list(change.pipeline.versions.order_by("-number").values_list("number", flat=True))
    return ReviseForm(data, initial=initial, versions=versions)


def _request_page(request: HtmxHttpRequest, change: ChangeRequest, *, status=200, error="", **forms):
    standing = selectors.request_standing(change)
    user = request.user
    may_decide, why_not = selectors.may_approve(user, change, standing.plan)
    is_author = change.author_id == user.pk
    can_change = can(user, ENVIRONMENT_CHANGE, change.environment)
    decided = any(a.stands and a.approval.approver_id == user.pk for a in standing.approvals)
    context = {
        "section": "changes",
        "change": change,
        "standing": standing,
        "diff": _diff(standing),
        "impact": selectors.impact_for(change),
        "error": error,
        "is_author": is_author,
        "may_decide": may_decide and change.is_open and not decided,
        "decided": decided,
        "why_not": why_not,
        "approve_role": role_needed(CHANGE_APPROVE),
        "can_apply": change.is_open and can_change,
        "can_schedule": change.is_open and can_change,
        "can_break_glass": change.is_open and can(user, BREAK_GLASS),
        "approve_form": forms.get("approve_form") or ApproveForm(),
        "reject_form": forms.get("reject_form") or RejectForm(),
        "withdraw_form": forms.get("withdraw_form") or WithdrawForm(),
        "schedule_form": forms.get("schedule_form")
        or ScheduleForm(initial={"when": change.scheduled_for} if change.scheduled_for else None),
        "revise_form": (forms.get("revise_form") or _revise_form(change))
        if is_author and change.is_open
        else None,
        "break_glass_form": forms.get("break_glass_form") or BreakGlassForm(),
        "open_form": forms.get("open_form", ""),
        "tz_name": timezone.get_current_timezone_name(),
    }
    return render(request, "console/changes/detail.html", context, status=status)


@require_GET
def change_request(request: HtmxHttpRequest, pk):
    return _request_page(request, selectors.change_request_get(pk))


def _done(request: HtmxHttpRequest, change: ChangeRequest, message: str) -> HttpResponse:
    messages.success(request, message)
    url = reverse("console:change-request", kwargs={"pk": change.pk})
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _act(request: HtmxHttpRequest, change: ChangeRequest, form, name: str, action, message):
    """Run `action(form.cleaned_data)` and go back to the request; show the form again
    with what was typed when it is not valid or the service refuses it."""
    if not form.is_valid():
        errors = " ".join(" ".join(e) for e in form.errors.values())
        return _request_page(
            request, change, status=400, error=errors, open_form=name, **{f"{name}_form": form}
        )
    try:
        action(form.cleaned_data)
    except ServiceError as exc:
        return _request_page(
            request, change, status=exc.status, error=exc.message, open_form=name, **{f"{name}_form": form}
        )
    return _done(request, change, message() if callable(message) else message)


@require_POST
def change_request_approve(request: HtmxHttpRequest, pk):
    change = selectors.change_request_get(pk)
    return _act(
        request,
        change,
        ApproveForm(request.POST),
        "approve",
        lambda d: services.change_request_approve(
            change_request=change, actor=request.user, comment=d["comment"], expected_revision=d["revision"]
        ),
        f"You approved change request #{change.pk}.",
    )


@require_POST
def change_request_reject(request: HtmxHttpRequest, pk):
    change = selectors.change_request_get(pk)
    return _act(
        request,
        change,
        RejectForm(request.POST),
        "reject",
        lambda d: services.change_request_reject(
            change_request=change, actor=request.user, comment=d["comment"], expected_revision=d["revision"]
        ),
        f"You rejected change request #{change.pk}; its author is told why.",
    )


@require_POST
def change_request_withdraw(request: HtmxHttpRequest, pk):
    change = selectors.change_request_get(pk)
    return _act(
        request,
        change,
        WithdrawForm(request.POST),
        "withdraw",
        lambda d: services.change_request_withdraw(
            change_request=change, actor=request.user, reason=d["reason"]
        ),
        f"Change request #{change.pk} withdrawn: nothing was changed.",
    )


@require_POST
def change_request_revise(request: HtmxHttpRequest, pk):
    change = selectors.change_request_get(pk)
    form = _revise_form(change, request.POST)
    if form is None:
        raise InvalidInput(
            f"A {change.get_kind_display()} request is not revised here: withdraw it and open a new one."
        )

    def revise(data: dict) -> None:
        payload: dict = {"override": data["override"]}
        if change.kind == "release" and data.get("version"):
            payload["version"] = data["version"]
        services.change_request_revise(
            change_request=change, actor=request.user, payload=payload, reason=data["reason"]
        )

    return _act(
        request,
        change,
        form,
        "revise",
        revise,
        f"Change request #{change.pk} revised: the approvals given so far no longer stand.",
    )


@require_POST
def change_request_schedule(request: HtmxHttpRequest, pk):
    change = selectors.change_request_get(pk)
    form = ScheduleForm(request.POST)
    unschedule = request.POST.get("action") == "unschedule"

    def schedule(data):
        services.change_request_schedule(
            change_request=change, actor=request.user, when=None if unschedule else data["when"]
        )

    def message() -> str:
        change.refresh_from_db()
        if change.scheduled_for is None:
            return f"Change request #{change.pk} is no longer scheduled."
        when = timezone.localtime(change.scheduled_for)
        return f"Change request #{change.pk} will be applied at {when:%Y-%m-%d %H:%M} ({when.tzname()})."

    return _act(request, change, form, "schedule", schedule, message)


@require_POST
def change_request_apply(request: HtmxHttpRequest, pk):
    change = selectors.change_request_get(pk)
    try:
        seen = request.POST.get("revision", "")
        applied = services.change_request_apply(
            change_request=change, actor=request.user, expected_revision=int(seen) if seen.isdigit() else None
        )
    except ServiceError as exc:
        return _request_page(request, change, status=exc.status, error=exc.message)
    return _done(request, applied, f"Change request #{change.pk} applied to {change.environment.name}.")


@require_POST
def change_request_break_glass(request: HtmxHttpRequest, pk):
    change = selectors.change_request_get(pk)
    return _act(
        request,
        change,
        BreakGlassForm(request.POST),
        "break_glass",
        lambda d: services.change_request_break_glass(
            change_request=change, actor=request.user, reason=d["reason"]
        ),
        f"Glass broken: change request #{change.pk} applied without its approvals. Every publisher is told.",
    )
