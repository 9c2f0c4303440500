"""Test cases: an application and the outcome it must get. List, create, get, change,
delete, and save a finished run as one. Inputs and expectations go in in clear and come
out masked only."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from pipelines_admin.api import selectors as api_selectors
from pipelines_admin.api.base import ApiView
from pipelines_admin.api.pagination import TestCasePagination
from pipelines_admin.api.revisions import ETAG, IF_MATCH, REVISION_REQUIRED, STALE, base_revision, with_etag
from pipelines_admin.api.schema import error_response
from pipelines_admin.api.serializers.common import JsonObjectField
from pipelines_admin.api.serializers.testing import EXPECTED_HELP, TestCaseSerializer
from pipelines_admin.configs import selectors as config_selectors
from pipelines_admin.runs import selectors as run_selectors
from pipelines_admin.testcases import selectors, services

INPUT_HELP = "The test application: field names and values (stored encrypted, shown masked)."
LOCATION = OpenApiParameter(
    "Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[201], description="The test case's URL."
)


def case_url(view: ApiView, case) -> str:
    return view.absolute(
        reverse("api:test-case-detail", kwargs={"slug": case.pipeline.slug, "case_id": case.pk})
    )


def case_data(view: ApiView, case, latest) -> dict:
    """The API's view of a test case; `latest` is api_selectors.latest_outcomes(pipeline)."""
    suite_run, outcomes = latest
    entry = outcomes.get(case.pk)
    return {
        **{
            f: getattr(case, f)
            for f in (
                "id",
                "pipeline",
                "name",
                "description",
                "input_masked",
                "expected_masked",
                "source_run_id",
                "created_by",
                "created_at",
                "updated_at",
            )
        },
        "url": case_url(view, case),
        "latest_outcome": None if entry is None else ("passed" if entry["passed"] else "failed"),
        "latest_suite_run": suite_run.pk if entry is not None else None,
    }


def _created(view: ApiView, case) -> Response:
    body = TestCaseSerializer(case_data(view, case, api_selectors.latest_outcomes(case.pipeline))).data
    return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})


class CaseInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, help_text="Unique in the pipeline.")
    description = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")
    input = JsonObjectField(help_text=INPUT_HELP)
    expected = JsonObjectField(help_text=EXPECTED_HELP)


class CasePatchInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=5000, allow_blank=True, required=False)
    input = JsonObjectField(required=False, help_text=INPUT_HELP + " Kept as it is when left out.")
    expected = JsonObjectField(required=False, help_text=EXPECTED_HELP + " Kept as it is when left out.")


class TestCaseListView(ApiView):
    __test__ = False  # a view, not a pytest class
    pagination_class = TestCasePagination

    @extend_schema(
        operation_id="test_cases_list",
        summary="List a pipeline's test cases",
        description="By name, cursor-paginated (follow `next`); each with how it did in the newest "
        "suite run. Inputs and expectations are masked.",
        responses={200: TestCaseSerializer(many=True)},
    )
    def get(self, request, slug):
        pipeline = config_selectors.pipeline_get(slug)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.case_list(pipeline), request, view=self)
        latest = api_selectors.latest_outcomes(pipeline)
        return paginator.get_paginated_response(
            TestCaseSerializer([case_data(self, case, latest) for case in page], many=True).data
        )

    @extend_schema(
        operation_id="test_cases_create",
        summary="Add a test case",
        description="Editors and publishers. The expectation is checked against the pipeline's "
        "latest version (rules it does not have are problems); a name already used is a 400.",
        request=CaseInput,
        responses={201: TestCaseSerializer},
        parameters=[LOCATION],
    )
    def post(self, request, slug):
        data = CaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        case = services.case_create(
            pipeline=config_selectors.pipeline_get(slug),
            name=values["name"],
            description=values["description"],
            record=values["input"],
            expected=values["expected"],
            actor=request.user,
        )
        return _created(self, case)


class TestCaseDetailView(ApiView):
    __test__ = False  # a view, not a pytest class

    def _case(self, slug, case_id):
        return api_selectors.case_get(config_selectors.pipeline_get(slug), case_id)

    def _answer(self, case) -> Response:
        body = TestCaseSerializer(case_data(self, case, api_selectors.latest_outcomes(case.pipeline))).data
        return with_etag(Response(body), services.case_revision(case))

    @extend_schema(
        operation_id="test_cases_retrieve",
        summary="Get a test case",
        description="Its input and expectation masked, and how it did in the newest suite run. The ETag "
        "is what a change sends as If-Match.",
        parameters=[ETAG],
        responses={200: TestCaseSerializer},
    )
    def get(self, request, slug, case_id):
        return self._answer(self._case(slug, case_id))

    @extend_schema(
        operation_id="test_cases_update",
        summary="Replace a test case",
        description="Editors and publishers. Send the whole case: name, input and expectation "
        "(the description is emptied when left out).",
        parameters=[IF_MATCH, ETAG],
        request=CaseInput,
        responses={200: TestCaseSerializer, 412: STALE, 428: REVISION_REQUIRED},
    )
    def put(self, request, slug, case_id):
        data = CaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        case = services.case_update(
            case=self._case(slug, case_id),
            name=values["name"],
            description=values["description"],
            record=values["input"],
            expected=values["expected"],
            actor=request.user,
            base_revision=base_revision(request),
        )
        return self._answer(case)

    @extend_schema(
        operation_id="test_cases_partial_update",
        summary="Change part of a test case",
        description="Editors and publishers. What is left out stays as it is: e.g. send only `name`, "
        "or only a new `expected`.",
        parameters=[IF_MATCH, ETAG],
        request=CasePatchInput,
        responses={200: TestCaseSerializer, 412: STALE, 428: REVISION_REQUIRED},
    )
    def patch(self, request, slug, case_id):
        data = CasePatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        case = self._case(slug, case_id)
        record = expected = None
        if "input" not in values or "expected" not in values:
            record, expected = services.case_content(case)
        case = services.case_update(
            case=case,
            name=values.get("name", case.name),
            description=values.get("description", case.description),
            record=values.get("input", record),
            expected=values.get("expected", expected),
            actor=request.user,
            base_revision=base_revision(request),
        )
        return self._answer(case)

    @extend_schema(
        operation_id="test_cases_delete",
        summary="Delete a test case",
        description="Editors and publishers. Recorded in the audit trail; passes of the suite before "
        "no longer open the release gate.",
        parameters=[IF_MATCH],
        responses={204: None, 412: STALE, 428: REVISION_REQUIRED},
    )
    def delete(self, request, slug, case_id):
        services.case_delete(
            case=self._case(slug, case_id), actor=request.user, base_revision=base_revision(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class SaveRunAsTestCaseView(ApiView):
    class Input(serializers.Serializer):
        name = serializers.CharField(
            max_length=200,
            allow_blank=True,
            required=False,
            default="",
            help_text="By default “<Status> application from run <id>”; a number is added "
            "when the name is taken.",
        )

    @extend_schema(
        operation_id="runs_save_as_test_case",
        summary="Save a finished run as a test case",
        description="Editors and publishers. The run's application becomes a test case of its "
        "pipeline expecting the same decision (status). 400 while the run has not finished.",
        request=Input,
        responses={
            201: OpenApiResponse(TestCaseSerializer, description="The new test case."),
            400: error_response("The run has not finished yet, or the name is not valid."),
        },
        parameters=[LOCATION],
    )
    def post(self, request, run_id):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.case_from_run(
            run=run_selectors.run_get(run_id), actor=request.user, name=data.validated_data["name"]
        )
        return _created(self, case)
