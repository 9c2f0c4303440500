"""Test case pages: a pipeline's test cases with their coverage and suite runs, a test
case's form, a suite run's results, and saving a run as a test case."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from pipelines_admin.accounts.permissions import RUN_SUBMIT, VERSION_CREATE, can
from pipelines_admin.configs.selectors import pipeline_get, version_get, version_latest
from pipelines_admin.console.forms.testcases import CaseForm, SuiteRunForm
from pipelines_admin.console.http import HtmxHttpRequest
from pipelines_admin.console.paging import paginate
from pipelines_admin.core.errors import ServiceError, Stale
from pipelines_admin.core.revisions import MISSING
from pipelines_admin.runs.selectors import run_get
from pipelines_admin.testcases.selectors import (
    case_get,
    case_list,
    case_outcomes,
    coverage,
    suite_run_get,
    suite_run_latest,
    suite_run_list,
)
from pipelines_admin.testcases.services import (
    case_content,
    case_create,
    case_delete,
    case_from_run,
    case_revision,
    case_update,
    suite_start,
)

SUITE_RUNS_PER_PAGE = 10


def _document(pipeline) -> dict:
    latest = version_latest(pipeline)
    return latest.document if latest else {}


def _problems(exc: ServiceError) -> list[dict]:
    return exc.extra.get("problems", []) if isinstance(exc.extra, dict) else []


@require_GET
def cases(request: HtmxHttpRequest, slug):
    pipeline = pipeline_get(slug)
    latest_suite = suite_run_latest(pipeline)
    outcomes = case_outcomes(latest_suite)
    rows = [(case, outcomes.get(case.pk)) for case in case_list(pipeline)]
    page, query = paginate(request, suite_run_list(pipeline), per_page=SUITE_RUNS_PER_PAGE)
    context = {
        "section": "pipelines",
        "pipeline": pipeline,
        "cases": rows,
        "latest_suite": latest_suite,
        "coverage": coverage(pipeline, latest_suite),
        "page": page,
        "query": query,
        "suite_form": SuiteRunForm(pipeline=pipeline, initial={"environment": "development"}),
        "can_edit": can(request.user, VERSION_CREATE),
        "can_run": can(request.user, RUN_SUBMIT),
    }
    return render(request, "console/test_cases.html", context)


def _case_page(
    request: HtmxHttpRequest, pipeline, form, *, case=None, status=200, problems=None, masked=None, stale=None
):
    current = case_revision(case) if case is not None else ""
    # the edit form is based on the case as the page shows it: re-shown after an error it keeps
    # the revision it started from, unless that error was that it is stale
    posted = form.data.get("base_revision") if form is not None and form.is_bound and not stale else None
    return render(
        request,
        "console/test_case_form.html",
        {
            "section": "pipelines",
            "pipeline": pipeline,
            "form": form,
            "case": case,
            "problems": problems or [],
            "can_edit": can(request.user, VERSION_CREATE),
            "masked": masked,
            "stale": stale,
            "base_revision": posted or current,
            "current_revision": current,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def case_new(request: HtmxHttpRequest, slug):
    pipeline = pipeline_get(slug)
    form = CaseForm(
        request.POST or None, document=_document(pipeline), initial={"status": "passed", "record": "{\n}"}
    )
    if request.method == "GET" or not form.is_valid():
        return _case_page(request, pipeline, form, status=200 if request.method == "GET" else 400)
    try:
        case = case_create(
            pipeline=pipeline,
            name=form.cleaned_data["name"],
            record=form.cleaned_data["record"],
            expected=form.expectation(),
            description=form.cleaned_data["description"],
            actor=request.user,
        )
    except ServiceError as exc:
        form.add_error(None, exc.message)
        return _case_page(request, pipeline, form, status=exc.status, problems=_problems(exc))
    messages.success(request, f"Test case “{case.name}” saved.")
    return redirect("console:test-cases", slug=slug)


@require_http_methods(["GET", "POST"])
def case_edit(request: HtmxHttpRequest, slug, case_id):
    """Editors see and change the application in clear; everyone else sees it masked."""
    pipeline = pipeline_get(slug)
    case = case_get(pipeline, case_id)
    document = _document(pipeline)
    if not can(request.user, VERSION_CREATE):
        if request.method == "POST":
            return _case_page(
                request,
                pipeline,
                None,
                case=case,
                status=403,
                masked={"input": case.input_masked, "expected": case.expected_masked},
            )
        return _case_page(
            request,
            pipeline,
            None,
            case=case,
            masked={"input": case.input_masked, "expected": case.expected_masked},
        )
    if request.method == "GET":
        record, expected = case_content(case)
        form = CaseForm(
            document=document, initial=CaseForm.initial_from(case.name, case.description, record, expected)
        )
        return _case_page(request, pipeline, form, case=case)
    form = CaseForm(request.POST, document=document)
    if not form.is_valid():
        return _case_page(request, pipeline, form, case=case, status=400)
    try:
        case = case_update(
            case=case,
            name=form.cleaned_data["name"],
            record=form.cleaned_data["record"],
            expected=form.expectation(),
            description=form.cleaned_data["description"],
            actor=request.user,
            base_revision=request.POST.get("base_revision") or MISSING,
        )
    except Stale as exc:
        case.refresh_from_db()
        return _case_page(request, pipeline, form, case=case, status=exc.status, stale=exc.extra)
    except ServiceError as exc:
        form.add_error(None, exc.message)
        return _case_page(request, pipeline, form, case=case, status=exc.status, problems=_problems(exc))
    messages.success(request, f"Test case “{case.name}” saved.")
    return redirect("console:test-cases", slug=slug)


@require_POST
def case_delete_view(request: HtmxHttpRequest, slug, case_id):
    pipeline = pipeline_get(slug)
    case = case_get(pipeline, case_id)
    name = case.name
    case_delete(case=case, actor=request.user, base_revision=request.POST.get("base_revision") or MISSING)
    messages.success(request, f"Test case “{name}” deleted.")
    return redirect("console:test-cases", slug=slug)


@require_POST
def suite_run_start(request: HtmxHttpRequest, slug):
    """Run every test case against the chosen config, on the worker."""
    pipeline = pipeline_get(slug)
    form = SuiteRunForm(request.POST, pipeline=pipeline)
    if not form.is_valid():
        messages.error(request, "Pick an environment and a config to test.")
        return redirect("console:test-cases", slug=slug)
    data = form.cleaned_data
    version = version_get(pipeline, data["version"]) if data["version"] else None
    suite = suite_start(
        pipeline=pipeline,
        environment=data["environment"],
        actor=request.user,
        version=version,
        override=data["override"] if data["use_override"] else None,
    )
    return redirect("console:suite-run", slug=slug, suite_id=suite.pk)


@require_GET
def suite_run_detail(request: HtmxHttpRequest, slug, suite_id):
    pipeline = pipeline_get(slug)
    suite = suite_run_get(pipeline, suite_id)
    results = sorted(suite.results, key=lambda entry: (entry["passed"], entry["name"]))
    context = {
        "section": "pipelines",
        "pipeline": pipeline,
        "suite": suite,
        "results": results,
        "coverage": coverage(pipeline, suite) if suite.finished else None,
    }
    if request.htmx and not suite.finished:
        return render(request, "console/suite_run.html#progress", context)
    if request.htmx:  # it has just finished: show the whole page with its results
        return HttpResponseClientRefresh()
    return render(request, "console/suite_run.html", context)


@require_POST
def save_run_as_test_case(request: HtmxHttpRequest, run_id):
    """One click: the run's application becomes a test case expecting the same decision."""
    run = run_get(run_id)
    case = case_from_run(run=run, actor=request.user)
    messages.success(
        request,
        f"Saved as the test case “{case.name}”, expecting “{run.status}”. "
        "Add the rule outcomes or fields it must keep, if any.",
    )
    return redirect("console:test-case-edit", slug=run.pipeline.slug, case_id=case.pk)
