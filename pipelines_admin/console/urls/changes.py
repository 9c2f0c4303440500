"""Change requests: the list and one request, with what may be done with it."""

from django.urls import path

from pipelines_admin.console.views import changes

urlpatterns: list = [
    path("", changes.changes, name="changes"),
    path("<int:pk>/", changes.change_request, name="change-request"),
    path("<int:pk>/approve/", changes.change_request_approve, name="change-request-approve"),
    path("<int:pk>/reject/", changes.change_request_reject, name="change-request-reject"),
    path("<int:pk>/revise/", changes.change_request_revise, name="change-request-revise"),
    path("<int:pk>/withdraw/", changes.change_request_withdraw, name="change-request-withdraw"),
    path("<int:pk>/schedule/", changes.change_request_schedule, name="change-request-schedule"),
    path("<int:pk>/apply/", changes.change_request_apply, name="change-request-apply"),
    path("<int:pk>/break-glass/", changes.change_request_break_glass, name="change-request-break-glass"),
]
