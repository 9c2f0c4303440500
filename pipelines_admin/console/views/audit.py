from django.shortcuts import render
from django.views.decorators.http import require_GET

from pipelines_admin.audit.selectors import AUDIT_FILTERS, audit_actions, audit_actors, audit_event_list
from pipelines_admin.audit.summaries import event_summary
from pipelines_admin.configs.models import Environment, Pipeline
from pipelines_admin.console.http import HtmxHttpRequest
from pipelines_admin.console.paging import paginate


@require_GET
def audit(request: HtmxHttpRequest):
    filters = {k: request.GET.get(k, "") for k in AUDIT_FILTERS}
    page, query = paginate(request, audit_event_list(filters), per_page=30)
    rows = [(event, event_summary(event)) for event in page.object_list]
    context = {
        "section": "audit",
        "page": page,
        "rows": rows,
        "query": query,
        "filters": filters,
        "actions": audit_actions(),
        "actors": audit_actors(),
        "pipelines": Pipeline.objects.all(),
        "environments": Environment.objects.all(),
    }
    template = "console/audit.html#event-table" if request.htmx else "console/audit.html"
    return render(request, template, context)
