"""The REST API under /api/: version 1 of the operations, the OpenAPI schema, and its
Swagger UI and ReDoc pages (served from local files by drf-spectacular-sidecar)."""

from django.urls import include, path, re_path

from pipelines_admin.api.views import (
    audit,
    batches,
    bindings,
    changes,
    dashboards,
    docs,
    environments,
    fallback,
    impact,
    pipelines,
    reviews,
    runs,
    suites,
    testcases,
    tokens,
    validation,
    versions,
    webhooks,
)

app_name = "api"

ENV = "pipelines/<slug:slug>/environments/<slug:env>"
PIPELINE = "pipelines/<slug:slug>"

v1 = [
    path("pipelines/", pipelines.PipelineListView.as_view(), name="pipeline-list"),
    path("pipelines/<slug:slug>/", pipelines.PipelineDetailView.as_view(), name="pipeline-detail"),
    path("pipelines/<slug:slug>/versions/", versions.VersionListView.as_view(), name="version-list"),
    path(
        "pipelines/<slug:slug>/versions/<int:number>/",
        versions.VersionDetailView.as_view(),
        name="version-detail",
    ),
    path(
        "pipelines/<slug:slug>/versions/<int:number>/diff/<int:other>/",
        versions.VersionDiffView.as_view(),
        name="version-diff",
    ),
    path("validate/", validation.ValidateView.as_view(), name="validate"),
    path("environments/", environments.EnvironmentListView.as_view(), name="environment-list"),
    path("environments/<slug:env>/", environments.EnvironmentDetailView.as_view(), name="environment-detail"),
    path("environments/<slug:env>/bindings/", bindings.BindingListView.as_view(), name="binding-list"),
    path(
        "environments/<slug:env>/bindings/<str:service>/",
        bindings.BindingDetailView.as_view(),
        name="binding-detail",
    ),
    path(f"{ENV}/", environments.PipelineEnvironmentView.as_view(), name="pipeline-environment"),
    path(f"{ENV}/override/", environments.OverrideView.as_view(), name="override"),
    path(f"{ENV}/stages/<str:stage>/toggle/", environments.StageToggleView.as_view(), name="stage-toggle"),
    path(
        f"{ENV}/rules/<str:stage>/<str:rule>/toggle/",
        environments.RuleToggleView.as_view(),
        name="rule-toggle",
    ),
    path(f"{ENV}/releases/", environments.ReleaseListView.as_view(), name="release-list"),
    path(f"{ENV}/rollback/", environments.RollbackView.as_view(), name="rollback"),
    path(f"{ENV}/diff/<slug:other>/", environments.EnvironmentDiffView.as_view(), name="environment-diff"),
    path(f"{ENV}/gate/", environments.ReleaseGateView.as_view(), name="release-gate"),
    path(f"{PIPELINE}/test-cases/", testcases.TestCaseListView.as_view(), name="test-case-list"),
    path(
        f"{PIPELINE}/test-cases/<int:case_id>/",
        testcases.TestCaseDetailView.as_view(),
        name="test-case-detail",
    ),
    path(f"{PIPELINE}/suite-runs/", suites.SuiteRunListView.as_view(), name="suite-run-list"),
    path(
        f"{PIPELINE}/suite-runs/<int:suite_run_id>/",
        suites.SuiteRunDetailView.as_view(),
        name="suite-run-detail",
    ),
    path(f"{PIPELINE}/coverage/", suites.CoverageView.as_view(), name="coverage"),
    path(f"{PIPELINE}/impact-reports/", impact.ImpactReportListView.as_view(), name="impact-report-list"),
    path(
        f"{PIPELINE}/impact-reports/<int:report_id>/",
        impact.ImpactReportDetailView.as_view(),
        name="impact-report-detail",
    ),
    path(
        f"{PIPELINE}/impact-reports/<int:report_id>/cancel/",
        impact.ImpactReportCancelView.as_view(),
        name="impact-report-cancel",
    ),
    path("runs/", runs.RunListView.as_view(), name="run-list"),
    path("runs/<uuid:run_id>/", runs.RunDetailView.as_view(), name="run-detail"),
    path(
        "runs/<uuid:run_id>/save-as-test-case/",
        testcases.SaveRunAsTestCaseView.as_view(),
        name="run-save-as-test-case",
    ),
    path("batches/", batches.BatchListView.as_view(), name="batch-list"),
    path("batches/<uuid:batch_id>/", batches.BatchDetailView.as_view(), name="batch-detail"),
    path("batches/<uuid:batch_id>/cancel/", batches.BatchCancelView.as_view(), name="batch-cancel"),
    path(
        "batches/<uuid:batch_id>/results.csv", batches.BatchResultsCsvView.as_view(), name="batch-results-csv"
    ),
    path(
        "batches/<uuid:batch_id>/results.jsonl",
        batches.BatchResultsJsonlView.as_view(),
        name="batch-results-jsonl",
    ),
    path("audit/", audit.AuditListView.as_view(), name="audit-list"),
    path("audit/export.jsonl", audit.AuditExportView.as_view(), name="audit-export"),
    path("dashboards/summary/", dashboards.DashboardSummaryView.as_view(), name="dashboard-summary"),
    path("reviews/", reviews.ReviewQueueView.as_view(), name="review-list"),
    path("reviews/summary/", reviews.ReviewFiguresView.as_view(), name="review-summary"),
    path("reviews/<uuid:run_id>/", reviews.ReviewDetailView.as_view(), name="review-detail"),
    path("reviews/<uuid:run_id>/claim/", reviews.ReviewClaimView.as_view(), name="review-claim"),
    path("reviews/<uuid:run_id>/release/", reviews.ReviewReleaseView.as_view(), name="review-release"),
    path("reviews/<uuid:run_id>/reveal/", reviews.ReviewRevealView.as_view(), name="review-reveal"),
    path("reviews/<uuid:run_id>/decide/", reviews.ReviewDecideView.as_view(), name="review-decide"),
    path(
        "reviews/<uuid:run_id>/save-as-test-case/",
        reviews.ReviewSaveAsTestCaseView.as_view(),
        name="review-save-as-test-case",
    ),
    path("webhooks/", webhooks.WebhookListView.as_view(), name="webhook-list"),
    path("webhooks/<int:webhook_id>/", webhooks.WebhookDetailView.as_view(), name="webhook-detail"),
    path(
        "webhooks/<int:webhook_id>/rotate-secret/",
        webhooks.WebhookRotateSecretView.as_view(),
        name="webhook-rotate-secret",
    ),
    path("webhooks/<int:webhook_id>/enable/", webhooks.WebhookEnableView.as_view(), name="webhook-enable"),
    path("webhooks/<int:webhook_id>/disable/", webhooks.WebhookDisableView.as_view(), name="webhook-disable"),
    path(
        "webhooks/<int:webhook_id>/deliveries/",
        webhooks.WebhookDeliveryListView.as_view(),
        name="webhook-delivery-list",
    ),
    path(
        "webhook-deliveries/<int:delivery_id>/resend/",
        webhooks.WebhookDeliveryResendView.as_view(),
        name="webhook-delivery-resend",
    ),
    path("change-requests/", changes.ChangeRequestListView.as_view(), name="change-request-list"),
    path(
        "change-requests/<int:request_id>/",
        changes.ChangeRequestDetailView.as_view(),
        name="change-request-detail",
    ),
    path(
        "change-requests/<int:request_id>/revise/",
        changes.ChangeRequestReviseView.as_view(),
        name="change-request-revise",
    ),
    path(
        "change-requests/<int:request_id>/approve/",
        changes.ChangeRequestApproveView.as_view(),
        name="change-request-approve",
    ),
    path(
        "change-requests/<int:request_id>/reject/",
        changes.ChangeRequestRejectView.as_view(),
        name="change-request-reject",
    ),
    path(
        "change-requests/<int:request_id>/withdraw/",
        changes.ChangeRequestWithdrawView.as_view(),
        name="change-request-withdraw",
    ),
    path(
        "change-requests/<int:request_id>/schedule/",
        changes.ChangeRequestScheduleView.as_view(),
        name="change-request-schedule",
    ),
    path(
        "change-requests/<int:request_id>/apply/",
        changes.ChangeRequestApplyView.as_view(),
        name="change-request-apply",
    ),
    path(
        "change-requests/<int:request_id>/break-glass/",
        changes.ChangeRequestBreakGlassView.as_view(),
        name="change-request-break-glass",
    ),
    path("tokens/", tokens.TokenListView.as_view(), name="token-list"),
    path("tokens/<uuid:token_id>/", tokens.TokenDetailView.as_view(), name="token-detail"),
]

urlpatterns = [
    path("v1/", include(v1)),
    # token or session; people without either are sent to the login page (Swagger UI, ReDoc)
    path("schema/", docs.SchemaView.as_view(), name="schema"),
    path("schema/swagger-ui/", docs.SwaggerView.as_view(url_name="api:schema"), name="swagger-ui"),
    path("schema/redoc/", docs.RedocView.as_view(url_name="api:schema"), name="redoc"),
    re_path(r"^.*$", fallback.UnknownPathView.as_view(), name="not-found"),
]
