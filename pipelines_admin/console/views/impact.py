"""Impact analysis pages of a pipeline: start an analysis (past applications replayed
against what is live and against a candidate change), list the past ones, and read a
report: which decisions would flip, rule by rule, with a masked sample of the flipped
applications side by side.

The services (pipelines_admin.impact.services) check roles and the candidate; the
permission check here only decides what to offer."""

from __future__ import annotations

import json

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from pipelines_admin.accounts.permissions import RUN_SUBMIT, can
from pipelines_admin.configs.models import Pipeline
from pipelines_admin.configs.selectors import environment_list, live_releases, pipeline_get, version_get
from pipelines_admin.console.forms.impact import ImpactForm, default_last
from pipelines_admin.console.http import HtmxHttpRequest
from pipelines_admin.console.paging import paginate
from pipelines_admin.core.errors import ServiceError
from pipelines_admin.impact.models import ImpactReport
from pipelines_admin.impact.selectors import impact_report_get, impact_report_list, impact_summary
from pipelines_admin.impact.services import impact_cancel, impact_start
from pipelines_admin.impact.tally import flip_direction
from pipelines_admin.runs.comparison import compare_results

REPORTS_PER_PAGE = 15
CHART_RULES = 25  # the chart shows at most this many changed rules (the table shows all)
DEFAULT_ENVIRONMENT = "production"
FAILING = {"fail", "error", "timeout"}
DIRECTION_LABELS = {"to_fail": "would no longer pass", "to_pass": "would now pass", "other": "other change"}


def _problems(exc: ServiceError) -> list[dict]:
    return exc.extra.get("problems", []) if isinstance(exc.extra, dict) else []


# -- start one, list them -------------------------------------------------------------------


def _initial(request: HtmxHttpRequest, pipeline: Pipeline) -> dict:
    """?environment=NAME&version=N prefill the form (unknown values fall back to the defaults)."""
    names = [e.name for e in environment_list()]
    environment = request.GET.get("environment", "")
    if environment not in names:
        environment = DEFAULT_ENVIRONMENT if DEFAULT_ENVIRONMENT in names else (names[0] if names else "")
    numbers = list(pipeline.versions.order_by("-number").values_list("number", flat=True))
    asked = request.GET.get("version", "")
    version = int(asked) if asked.isdigit() and int(asked) in numbers else (numbers[0] if numbers else None)
    return {"environment": environment, "version": version, "last": default_last()}


def _impact_page(
    request: HtmxHttpRequest, pipeline: Pipeline, form: ImpactForm, *, status: int = 200, problems=None
):
    page, query = paginate(request, impact_report_list(pipeline), per_page=REPORTS_PER_PAGE)
    context = {
        "section": "pipelines",
        "pipeline": pipeline,
        "form": form,
        "problems": problems or [],
        "page": page,
        "query": query,
        "has_versions": pipeline.versions.exists(),
        "can_start": can(request.user, RUN_SUBMIT),
        "polling": any(not r.finished for r in page),
    }
    template = (
        "console/impact.html#reports" if request.htmx and request.method == "GET" else "console/impact.html"
    )
    return render(request, template, context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def impact(request: HtmxHttpRequest, slug):
    pipeline = pipeline_get(slug)
    live = live_releases(pipeline)
    if request.method != "POST":
        return _impact_page(
            request, pipeline, ImpactForm(pipeline=pipeline, live=live, initial=_initial(request, pipeline))
        )
    form = ImpactForm(request.POST, pipeline=pipeline, live=live)
    if not form.is_valid():
        return _impact_page(request, pipeline, form, status=400)
    data = form.cleaned_data
    try:
        report = impact_start(
            pipeline=pipeline,
            environment=data["environment"],
            actor=request.user,
            last=data["last"],
            version=version_get(pipeline, data["version"]) if data["version"] else None,
            override=data["override"],
        )
    except ServiceError as exc:
        form.add_error(None, exc.message)
        return _impact_page(request, pipeline, form, status=exc.status, problems=_problems(exc))
    messages.success(
        request,
        f"Impact analysis queued: {report.total:,} past run{'s' if report.total != 1 else ''} "
        f"of {report.environment.name} are being replayed.",
    )
    return redirect("console:impact-report", slug=slug, report_id=report.pk)


# -- one report -----------------------------------------------------------------------------


def _decision_rows(summary) -> list[dict]:
    """Before status rows x after status columns, each cell saying what kind of change it is."""
    rows = []
    for before, counts in summary.decisions:
        cells = [
            {"after": after, "count": n, "kind": flip_direction(before, after) or "same"}
            for after, n in zip(summary.statuses, counts, strict=True)
        ]
        rows.append({"before": before, "cells": cells, "total": sum(counts)})
    totals = [sum(row["cells"][i]["count"] for row in rows) for i in range(len(summary.statuses))]
    return rows + [
        {"before": None, "cells": [{"count": n, "kind": "total"} for n in totals], "total": sum(totals)}
    ]


def _rule_rows(summary) -> list[dict]:
    return [
        {
            "rule": r,
            "pairs": [{"outcome": o, "before": b, "after": a, "delta": a - b} for o, b, a in r.pairs()],
        }
        for r in summary.rules
    ]


def _chart_data(summary) -> dict:
    """The changed rules, with each outcome's change in count (after - before), for a
    diverging horizontal bar chart."""
    changed = [r for r in summary.rules if r.changed][:CHART_RULES]
    outcomes = [
        o
        for o in ("pass", "fail", "skip", "error", "timeout")
        if any(r.after.get(o, 0) != r.before.get(o, 0) for r in changed)
    ]
    return {
        "labels": [f"{r.stage} / {r.rule}" for r in changed],
        "changed": [r.changed for r in changed],
        "outcomes": outcomes,
        "deltas": {o: [r.after.get(o, 0) - r.before.get(o, 0) for r in changed] for o in outcomes},
    }


def _latency_rows(summary) -> list[dict]:
    rows = []
    for key, label in (("mean", "mean"), ("p50", "p50"), ("p95", "p95"), ("p99", "p99")):
        before, after = summary.latency["before"].get(key), summary.latency["after"].get(key)
        rows.append(
            {
                "label": label,
                "before": before,
                "after": after,
                "delta": after - before if before is not None and after is not None else None,
            }
        )
    return rows


def _samples(report: ImpactReport) -> list[dict]:
    """Each flipped application with its two results side by side: the rules whose outcome
    changed, then the others (shown folded)."""
    samples = []
    for sample in report.samples or []:
        rows = compare_results(sample.get("before"), sample.get("after"))
        changed = [r for r in rows if r["changed"]]
        samples.append(
            {
                **sample,
                "label": DIRECTION_LABELS.get(sample.get("direction"), "changed"),
                "changed_rows": changed,
                "same_rows": [r for r in rows if not r["changed"]],
                # the rules that decide it: those failing on one side only (not the ones skipped after)
                "key_rules": [
                    r["rule"]
                    for r in changed
                    if {(r["a"] or {}).get("outcome"), (r["b"] or {}).get("outcome")} & FAILING
                ],
            }
        )
    return samples


def _report_context(request: HtmxHttpRequest, pipeline: Pipeline, report: ImpactReport) -> dict:
    summary = impact_summary(report)
    context = {
        "section": "pipelines",
        "pipeline": pipeline,
        "report": report,
        "summary": summary,
        "can_cancel": can(request.user, RUN_SUBMIT) and not report.finished,
        "override_json": json.dumps(report.candidate_override, indent=2, ensure_ascii=False)
        if report.candidate_override
        else "",
    }
    if report.finished:
        context.update(
            decision_rows=_decision_rows(summary),
            rule_rows=_rule_rows(summary),
            changed_rules=sum(1 for r in summary.rules if r.changed),
            chart=_chart_data(summary),
            latency_rows=_latency_rows(summary),
            samples=_samples(report),
        )
    return context


@require_GET
def impact_report(request: HtmxHttpRequest, slug, report_id):
    pipeline = pipeline_get(slug)
    report = impact_report_get(pipeline, report_id)
    if request.htmx and report.finished:
        # the progress bar polled until now: load the whole page, so the figures come with their chart's data
        # (htmx drops <script> elements from what it swaps in, json_script ones too, under the CSP config)
        return HttpResponseClientRefresh()
    template = "console/impact_report.html#report" if request.htmx else "console/impact_report.html"
    return render(request, template, _report_context(request, pipeline, report))


@require_POST
def impact_cancel_view(request: HtmxHttpRequest, slug, report_id):
    pipeline = pipeline_get(slug)
    report = impact_report_get(pipeline, report_id)
    report = impact_cancel(report=report, actor=request.user)
    messages.success(
        request,
        f"Analysis cancelled after {report.processed:,} of {report.total:,} runs; "
        "the figures below cover those.",
    )
    return redirect("console:impact-report", slug=slug, report_id=report.pk)
