"""The review queue and a run's review: claim, release, reveal a field, approve or
decline, keep a decided case as a test case."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from pipelines_admin.accounts.permissions import REVIEW_DECIDE, VERSION_CREATE, can, role_needed
from pipelines_admin.configs.models import Environment, Pipeline
from pipelines_admin.console.forms.reviews import DecideForm, RevealForm, SaveCaseForm
from pipelines_admin.console.http import HtmxHttpRequest
from pipelines_admin.console.paging import paginate
from pipelines_admin.core.errors import InvalidInput
from pipelines_admin.reviews import selectors, services
from pipelines_admin.reviews.models import APPROVE, DECLINE


@require_GET
def queue(request: HtmxHttpRequest):
    filters = {k: request.GET.get(k, "") for k in selectors.QUEUE_FILTERS}
    page, query = paginate(request, selectors.review_queue(filters))
    context = {
        "section": "reviews",
        "page": page,
        "rows": selectors.queue_rows(page.object_list),
        "query": query,
        "filters": filters,
        "pipelines": Pipeline.objects.all(),
        "environments": Environment.objects.all(),
        "can_decide": can(request.user, REVIEW_DECIDE),
        "decide_role": role_needed(REVIEW_DECIDE),
        "sla_hours": settings.REVIEW_SLA_HOURS,
    }
    template = "console/reviews.html#queue-table" if request.htmx else "console/reviews.html"
    return render(request, template, context)


def _case_page(
    request: HtmxHttpRequest,
    review: selectors.Review,
    *,
    reveal_form=None,
    decide_forms=None,
    revealed=None,
    status=200,
    template="console/review.html",
):
    user = request.user
    holder = review.claimed_by
    can_decide = can(user, REVIEW_DECIDE)
    mine = holder is not None and holder.pk == user.pk
    approved_already = review.approved_by(user)
    can_work = can_decide and not review.decided and (holder is None or mine) and not approved_already
    fields = selectors.revealable_fields(review.run)
    save_form = None
    if review.decided and can(user, VERSION_CREATE):
        save_form = SaveCaseForm(choices=services.expected_choices(review.case))  # type: ignore[arg-type]  # decided: a case
    forms = decide_forms or {APPROVE: DecideForm(decision=APPROVE), DECLINE: DecideForm(decision=DECLINE)}
    response = render(
        request,
        template,
        {
            "section": "reviews",
            "review": review,
            "run": review.run,
            "can_decide": can_decide,
            "decide_role": role_needed(REVIEW_DECIDE),
            "mine": mine,
            "approved_already": approved_already,
            "can_work": can_work,
            "can_release": can_decide and holder is not None and (mine or user.is_superuser),
            "fields": fields,
            "reveal_form": reveal_form or RevealForm(fields=fields),
            "approve_form": forms[APPROVE],
            "decline_form": forms[DECLINE],
            "revealed": revealed,
            "save_form": save_form,
            "save_case_role": role_needed(VERSION_CREATE),
            # an htmx fragment also swaps the claim it may have taken into the page
            "oob": template.endswith("#reveal"),
        },
        status=status,
    )
    if revealed is not None:
        response["Cache-Control"] = "no-store"  # a clear value: kept by no cache, the browser's included
    return response


@require_GET
def case(request: HtmxHttpRequest, run_id):
    return _case_page(request, selectors.review_get(run_id))


@require_POST
def claim(request: HtmxHttpRequest, run_id):
    review = selectors.review_get(run_id)
    services.review_claim(run=review.run, actor=request.user)
    messages.success(
        request, "You are reviewing this application: nobody else can decide it until you release it."
    )
    return redirect("console:review", run_id=run_id)


@require_POST
def release(request: HtmxHttpRequest, run_id):
    review = selectors.review_get(run_id)
    services.review_release(run=review.run, actor=request.user)
    messages.success(request, "Released: another reviewer can take it.")
    return redirect("console:review", run_id=run_id)


@require_POST
def reveal(request: HtmxHttpRequest, run_id):
    review = selectors.review_get(run_id)
    form = RevealForm(request.POST, fields=selectors.revealable_fields(review.run))
    template = "console/review.html#reveal" if request.htmx else "console/review.html"
    if form.is_valid():
        try:
            value = services.review_reveal(
                run=review.run,
                actor=request.user,
                field=form.cleaned_data["field"],
                reason=form.cleaned_data["reason"],
            )
        except InvalidInput as exc:
            form.add_error(None, exc.message)
        else:
            # the page again, with the claim the reveal took and the value shown once
            return _case_page(
                request,
                selectors.review_get(run_id),
                revealed={"field": form.cleaned_data["field"], "value": value},
                template=template,
            )
    return _case_page(request, review, reveal_form=form, status=400, template=template)


@require_POST
def decide(request: HtmxHttpRequest, run_id):
    review = selectors.review_get(run_id)
    decision = request.POST.get("decision", "")
    if decision not in (APPROVE, DECLINE):
        raise InvalidInput("Approve or decline.")
    forms = {
        APPROVE: DecideForm(request.POST if decision == APPROVE else None, decision=APPROVE),
        DECLINE: DecideForm(request.POST if decision == DECLINE else None, decision=DECLINE),
    }
    form = forms[decision]
    if form.is_valid():
        try:
            case = services.review_decide(
                run=review.run,
                actor=request.user,
                decision=decision,
                reason_code=form.cleaned_data["reason_code"],
                note=form.cleaned_data["note"],
            )
        except InvalidInput as exc:
            form.add_error(None, exc.message)
        else:
            if case.decided:
                messages.success(request, f"The application is {case.status}.")
            else:
                missing = case.approvals_missing
                messages.success(
                    request,
                    f"Your approval is recorded; {missing} more approval{'s' if missing != 1 else ''} from "
                    "another reviewer needed.",
                )
            return redirect("console:review", run_id=run_id)
    return _case_page(request, review, decide_forms=forms, status=400)


@require_POST
def save_as_test_case(request: HtmxHttpRequest, run_id):
    review = selectors.review_get(run_id)
    choices = services.expected_choices(review.case) if review.decided else []  # type: ignore[arg-type]  # decided: a case
    form = SaveCaseForm(request.POST, choices=choices)
    if not form.is_valid():
        raise InvalidInput("Choose what the test case expects.", {"fields": form.errors.get_json_data()})
    test_case = services.review_save_as_test_case(
        run=review.run, actor=request.user, expect=form.cleaned_data["expect"], name=form.cleaned_data["name"]
    )
    messages.success(
        request,
        f"Saved as the test case “{test_case.name}”, expecting “{test_case.expected_masked['status']}”.",
    )
    return redirect("console:test-case-edit", slug=review.run.pipeline.slug, case_id=test_case.pk)
