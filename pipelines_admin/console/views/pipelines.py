from django.shortcuts import render

from pipelines_admin.configs.selectors import environment_list, pipeline_overview


def pipelines(request):
    return render(request, "console/pipelines.html", {
        "section": "pipelines",
        "environments": environment_list(),
        "rows": pipeline_overview(),
    })
