from django.shortcuts import render

from pipelines_admin.configs.selectors import environment_list, pipeline_overview
from pipelines_admin.console.http import HtmxHttpRequest
from pipelines_admin.runs.selectors import recent_runs_by_pipeline


def pipelines(request: HtmxHttpRequest):
    rows = pipeline_overview()
    recent = recent_runs_by_pipeline(row.pipeline.pk for row in rows)
    return render(
        request,
        "console/pipelines.html",
        {
            "section": "pipelines",
            "environments": environment_list(),
            "rows": [(row, recent.get(row.pipeline.pk, [])) for row in rows],
        },
    )
