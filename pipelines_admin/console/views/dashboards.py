from django.shortcuts import render

from pipelines_admin.configs.models import Environment, Pipeline
from pipelines_admin.console.http import HtmxHttpRequest
from pipelines_admin.runs.selectors import dashboard

WINDOWS = {"1": 1, "6": 6, "24": 24, "168": 168}


def dashboards(request: HtmxHttpRequest):
    pipeline = Pipeline.objects.filter(slug=request.GET.get("pipeline", "")).first()
    environment = Environment.objects.filter(name=request.GET.get("environment", "")).first()
    hours = WINDOWS.get(request.GET.get("hours", "24"), 24)
    data = dashboard(pipeline=pipeline, environment=environment, hours=hours)
    return render(
        request,
        "console/dashboards.html",
        {
            "section": "dashboards",
            "data": data,
            "pipeline": pipeline,
            "environment": environment,
            "hours": hours,
            "pipelines": Pipeline.objects.all(),
            "environments": Environment.objects.all(),
            "windows": WINDOWS,
        },
    )
