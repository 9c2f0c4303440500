"""Console pages. Each view parses the request, asks a selector, renders a template."""
from django.shortcuts import render


def pipelines(request):
    return render(request, "console/pipelines.html", {"section": "pipelines"})


def runs(request):
    return render(request, "console/runs.html", {"section": "runs"})


def dashboards(request):
    return render(request, "console/dashboards.html", {"section": "dashboards"})


def audit(request):
    return render(request, "console/audit.html", {"section": "audit"})
