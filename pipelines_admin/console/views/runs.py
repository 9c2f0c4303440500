from django.conf import settings
from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from pipelines_admin.accounts.permissions import RUN_SUBMIT, VERSION_CREATE, can, role_needed
from pipelines_admin.configs.models import Environment, Pipeline
from pipelines_admin.console.forms.runs import BatchUploadForm
from pipelines_admin.console.forms.trial_runs import RerunForm
from pipelines_admin.console.http import HtmxHttpRequest
from pipelines_admin.console.paging import paginate
from pipelines_admin.core.errors import NotFound, ServiceError
from pipelines_admin.runs import exports
from pipelines_admin.runs.batches import batch_cancel, batch_create
from pipelines_admin.runs.models import Run
from pipelines_admin.runs.selectors import (
    BATCH_OUTCOMES,
    RUN_FILTERS,
    batch_get,
    batch_list,
    batch_outcome_counts,
    batch_progress,
    batch_result_rows,
    batch_result_runs,
    run_decision,
    run_get,
    run_list,
)


@require_GET
def runs(request: HtmxHttpRequest):
    filters = {k: request.GET.get(k, "") for k in RUN_FILTERS}
    page, query = paginate(request, run_list(filters))
    context = {
        "section": "runs",
        "page": page,
        "query": query,
        "filters": filters,
        "pipelines": Pipeline.objects.all(),
        "environments": Environment.objects.all(),
        "statuses": [str(status) for status in (*Run.PENDING, *Run.DECISIONS)],
        "sources": Run.Source.values,
    }
    template = "console/runs.html#run-table" if request.htmx else "console/runs.html"
    return render(request, template, context)


@require_GET
def run_detail(request: HtmxHttpRequest, run_id):
    run = run_get(run_id)
    template = "console/run_detail.html#run-result" if request.htmx else "console/run_detail.html"
    rerun_form = RerunForm(pipeline=run.pipeline, initial={"environment": run.environment.name})
    return render(
        request,
        template,
        {
            "section": "runs",
            "run": run,
            "decision": run_decision(run),
            "rerun_form": rerun_form,
            "can_rerun": can(request.user, RUN_SUBMIT),
            "rerun_role": role_needed(RUN_SUBMIT),
            "can_save_case": can(request.user, VERSION_CREATE),
            "save_case_role": role_needed(VERSION_CREATE),
        },
    )


def batches(request: HtmxHttpRequest):
    preselected = {k: request.GET[k] for k in ("pipeline", "environment") if request.GET.get(k)}
    form = BatchUploadForm(request.POST or None, request.FILES or None, initial=preselected)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch = batch_create(
                pipeline=form.cleaned_data["pipeline"],
                environment=form.cleaned_data["environment"],
                filename=upload.name,
                data=upload.read(settings.BATCH_MAX_BYTES + 1),
                actor=request.user,
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
            rejected = exc.extra.get("rejected_rows") if isinstance(exc.extra, dict) else None
            return render(
                request, "console/batches.html", _batches_context(request, form, rejected), status=exc.status
            )
        messages.success(request, f"{batch.total} applications queued from {batch.filename}.")
        return redirect("console:batch-detail", batch_id=batch.pk)
    return render(
        request, "console/batches.html", _batches_context(request, form), status=400 if form.errors else 200
    )


def _batches_context(request: HtmxHttpRequest, form, rejected=None):
    page, query = paginate(request, batch_list(), per_page=15)
    rows = [(batch, batch_outcome_counts(batch)) for batch in page.object_list]
    return {
        "section": "runs",
        "form": form,
        "page": page,
        "query": query,
        "rows": rows,
        "outcomes": BATCH_OUTCOMES,
        "rejected": rejected,
        "can_submit": can(request.user, RUN_SUBMIT),
        "submit_role": role_needed(RUN_SUBMIT),
    }


@require_GET
def batch_detail(request: HtmxHttpRequest, batch_id):
    batch = batch_get(batch_id)
    context = {"section": "runs", "batch": batch, "progress": batch_progress(batch)}
    if request.htmx:
        return render(request, "console/batch_detail.html#progress", context)
    status = request.GET.get("status", "")
    page, query = paginate(request, batch_result_runs(batch, status))
    context |= {
        "page": page,
        "query": query,
        "results": batch_result_rows(page.object_list),
        "status": status if status in Run.DECISIONS else "",
        "outcomes": batch_outcome_counts(batch),
    }
    return render(request, "console/batch_detail.html", context)


@require_POST
def batch_cancel_view(request: HtmxHttpRequest, batch_id):
    batch = batch_cancel(batch=batch_get(batch_id), actor=request.user)
    messages.success(request, f"Batch cancelled after {batch.processed} of {batch.total} applications.")
    return redirect("console:batch-detail", batch_id=batch_id)


@require_GET
def batch_results(request: HtmxHttpRequest, batch_id, fmt):
    if fmt not in exports.FORMATS:
        raise NotFound("Results come as .csv or .jsonl.")
    batch = batch_get(batch_id)
    rows, content_type = exports.batch_results_stream(batch, fmt)
    response = StreamingHttpResponse(rows, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-results.{fmt}"'
    return response
