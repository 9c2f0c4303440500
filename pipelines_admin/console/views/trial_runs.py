"""Test applications: submit one to a pipeline, follow it, run it again elsewhere and compare."""

import json

from django.shortcuts import redirect, render

from pipelines_admin.accounts.permissions import RUN_SUBMIT, can, role_needed
from pipelines_admin.configs.samples import sample_basis, samples_described
from pipelines_admin.configs.selectors import pipeline_get, version_get
from pipelines_admin.console.forms.trial_runs import RerunForm, TryRunForm
from pipelines_admin.console.http import HtmxHttpRequest
from pipelines_admin.core.errors import ServiceError
from pipelines_admin.runs.comparison import compare_results
from pipelines_admin.runs.selectors import run_get
from pipelines_admin.runs.services import run_input, run_submit


def try_run(request: HtmxHttpRequest, slug):
    pipeline = pipeline_get(slug)
    environment = (request.POST if request.method == "POST" else request.GET).get(
        "environment"
    ) or "development"
    basis = sample_basis(pipeline, environment)
    samples = samples_described(basis.document)
    sample = next((s for s in samples if s["key"] == request.GET.get("sample")), samples[0])
    initial = {
        "environment": environment,
        "record": json.dumps(sample["record"], indent=2, ensure_ascii=False),
    }
    form = TryRunForm(request.POST or None, pipeline=pipeline, initial=initial)
    # choosing another environment describes the samples against its config
    form.fields["environment"].widget.attrs.update(
        {
            "hx-get": request.path,
            "hx-target": "#samples",
            "hx-swap": "outerHTML",
            "hx-push-url": "true",
            "hx-vals": json.dumps({"sample": sample["key"]}),
        }
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                version = version_get(pipeline, data["version"]) if data["version"] else None
                run = run_submit(
                    pipeline=pipeline,
                    environment=data["environment"],
                    record=data["record"],
                    actor=request.user,
                    version=version,
                    stages=data["stages"] or None,
                )
                return redirect("console:run-detail", run_id=run.pk)
            except ServiceError as exc:
                form.add_error(None, exc.message)
                status = exc.status
        else:
            status = 400
    template = (
        "console/try_run.html#samples"
        if request.htmx and request.htmx.target == "samples"
        else "console/try_run.html"
    )
    return render(
        request,
        template,
        {
            "section": "pipelines",
            "pipeline": pipeline,
            "form": form,
            "samples": samples,
            "sample": sample,
            "basis": basis,
            "can_submit": can(request.user, RUN_SUBMIT),
            "submit_role": role_needed(RUN_SUBMIT),
        },
        status=status,
    )


def rerun(request: HtmxHttpRequest, run_id):
    """Run the same application again (another environment or version) and compare."""
    original = run_get(run_id)
    form = RerunForm(request.POST or None, pipeline=original.pipeline)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        version = version_get(original.pipeline, data["version"]) if data["version"] else None
        again = run_submit(
            pipeline=original.pipeline,
            environment=data["environment"],
            record=run_input(original),
            actor=request.user,
            version=version,
            stages=original.stages,
        )
        return redirect(f"/runs/compare/?a={original.pk}&b={again.pk}")
    return redirect("console:run-detail", run_id=original.pk)


def compare(request: HtmxHttpRequest):
    a, b = run_get(request.GET.get("a")), run_get(request.GET.get("b"))
    context = {
        "section": "runs",
        "a": a,
        "b": b,
        "rows": compare_results(a.result, b.result) if a.result and b.result else [],
    }
    template = "console/compare.html#comparison" if request.htmx else "console/compare.html"
    return render(request, template, context)
