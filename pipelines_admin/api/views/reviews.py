"""The review queue: the runs a rule sent to a person, claiming one, revealing a field,
approving or declining, keeping a decided one as a test case, and the review figures."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from pipelines_admin.api.base import ApiView
from pipelines_admin.api.pagination import NewestFirstPagination
from pipelines_admin.api.schema import error_response
from pipelines_admin.api.serializers.common import WindowFilters
from pipelines_admin.api.serializers.reviews import (
    RevealedSerializer,
    ReviewFiguresSerializer,
    ReviewSerializer,
    ReviewSummarySerializer,
)
from pipelines_admin.api.serializers.testing import TestCaseSerializer
from pipelines_admin.api.views.testcases import LOCATION, _created
from pipelines_admin.configs import selectors as config_selectors
from pipelines_admin.reviews import selectors, services
from pipelines_admin.reviews.models import APPROVE, DECLINE, REASON_CODES, ReviewDisposition
from pipelines_admin.reviews.services import NOTE_MAX, REASON_MAX, REASON_MIN

ROLE = "Reviewers (the reviewer role) and superusers."
WORKING = (
    " Revealing and deciding take the claim when it is free; 409 while another reviewer holds it, once "
    "the case is decided, or for a reviewer who approved it already."
)


class OldestFirstPagination(NewestFirstPagination):
    ordering = ("created_at", "id")


def _with_urls(view: ApiView, review: selectors.Review) -> selectors.Review:
    run_id = review.run.pk
    review.url = view.absolute(reverse("api:review-detail", kwargs={"run_id": run_id}))
    review.run_url = view.absolute(reverse("api:run-detail", kwargs={"run_id": run_id}))
    return review


def _detail(view: ApiView, run_id) -> Response:
    review = _with_urls(view, selectors.review_get(run_id))
    review.revealable_fields = selectors.revealable_fields(review.run)
    return Response(ReviewSerializer(review).data)


class ReviewQueueView(ApiView):
    pagination_class = OldestFirstPagination

    class Filters(serializers.Serializer):
        pipeline = serializers.SlugField(max_length=80, required=False, help_text="Pipeline slug.")
        environment = serializers.SlugField(max_length=50, required=False, help_text="Environment name.")

    @extend_schema(
        operation_id="reviews_list",
        summary="The review queue",
        description="Runs in review without a final disposition, oldest first, cursor-paginated.",
        parameters=[Filters],
        responses={200: ReviewSummarySerializer(many=True)},
    )
    def get(self, request):
        filters = self.Filters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = self.pagination_class()
        runs = paginator.paginate_queryset(selectors.review_queue(filters.validated_data), request, view=self)
        rows = [_with_urls(self, review) for review in selectors.queue_rows(runs)]
        return paginator.get_paginated_response(ReviewSummarySerializer(rows, many=True).data)


class ReviewFiguresView(ApiView):
    Filters = WindowFilters

    @extend_schema(
        operation_id="reviews_summary",
        summary="Review figures",
        description="The backlog now, the time to a decision (p50, p95) of the cases decided in the window, "
        "and the window's dispositions by reviewer and reason code.",
        parameters=[Filters],
        responses={200: ReviewFiguresSerializer},
    )
    def get(self, request):
        filters = self.Filters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        values = filters.validated_data
        pipeline = config_selectors.pipeline_get(values["pipeline"]) if values.get("pipeline") else None
        environment = (
            config_selectors.environment_get(values["environment"]) if values.get("environment") else None
        )
        figures = selectors.review_dashboard(
            pipeline=pipeline, environment=environment, hours=values["hours"]
        )
        figures["pipeline"] = pipeline.slug if pipeline else None
        figures["environment"] = environment.name if environment else None
        return Response(ReviewFiguresSerializer(figures).data)


class ReviewDetailView(ApiView):
    @extend_schema(
        operation_id="reviews_retrieve",
        summary="Get a run's review: its trace, approvals, claim and dispositions",
        responses={200: ReviewSerializer, 404: error_response("No such run, or it was not sent to review.")},
    )
    def get(self, request, run_id):
        return _detail(self, run_id)


CONFLICT = error_response(
    "Another reviewer holds it, it is decided already, or you approved it already (`extra` says which)."
)


class ReviewClaimView(ApiView):
    @extend_schema(
        operation_id="reviews_claim",
        summary="Claim a review",
        description=f"{ROLE} Nobody else can reveal or decide it until it is released or decided. "
        "Claiming what you hold already changes nothing.",
        request=None,
        responses={200: ReviewSerializer, 409: CONFLICT},
    )
    def post(self, request, run_id):
        services.review_claim(run=selectors.review_get(run_id).run, actor=request.user)
        return _detail(self, run_id)


class ReviewReleaseView(ApiView):
    @extend_schema(
        operation_id="reviews_release",
        summary="Release a claim",
        description=f"{ROLE} The holder releases it; a superuser may release anyone's.",
        request=None,
        responses={200: ReviewSerializer, 409: error_response("Nobody holds it, or it is decided.")},
    )
    def post(self, request, run_id):
        services.review_release(run=selectors.review_get(run_id).run, actor=request.user)
        return _detail(self, run_id)


class ReviewRevealView(ApiView):
    class Input(serializers.Serializer):
        field = serializers.CharField(max_length=200, help_text="One of the review's `revealable_fields`.")
        reason = serializers.CharField(
            min_length=REASON_MIN,
            max_length=REASON_MAX,
            help_text="Why you need it: kept in the audit trail.",
        )

    @extend_schema(
        operation_id="reviews_reveal",
        summary="Reveal one masked field of the application",
        description=f"{ROLE} The clear value is in this answer only (not cached, never stored); the audit "
        "trail records the field and the reason, never the value." + WORKING,
        request=Input,
        responses={200: RevealedSerializer, 409: CONFLICT},
    )
    def post(self, request, run_id):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        field = data.validated_data["field"]
        value = services.review_reveal(
            run=selectors.review_get(run_id).run,
            actor=request.user,
            field=field,
            reason=data.validated_data["reason"],
        )
        response = Response(RevealedSerializer({"field": field, "value": value}).data)
        response["Cache-Control"] = "no-store"
        return response


class ReviewDecideView(ApiView):
    class Input(serializers.Serializer):
        decision = serializers.ChoiceField(choices=ReviewDisposition.Decision.choices)
        reason_code = serializers.CharField(
            max_length=40,
            help_text="approve: "
            + ", ".join(REASON_CODES[APPROVE])
            + "; decline: "
            + ", ".join(REASON_CODES[DECLINE])
            + ".",
        )
        note = serializers.CharField(max_length=NOTE_MAX, allow_blank=True, required=False, default="")

    @extend_schema(
        operation_id="reviews_decide",
        summary="Approve or decline",
        description=f"{ROLE} A decline decides the case; an approval decides it once `approvals_required` "
        "different reviewers approved. Either releases the claim." + WORKING,
        request=Input,
        responses={200: ReviewSerializer, 409: CONFLICT},
    )
    def post(self, request, run_id):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        services.review_decide(
            run=selectors.review_get(run_id).run, actor=request.user, **data.validated_data
        )
        return _detail(self, run_id)


class ReviewSaveAsTestCaseView(ApiView):
    class Input(serializers.Serializer):
        expect = serializers.ChoiceField(
            choices=["passed", "failed", "review"],
            required=False,
            help_text="The status the test case expects: by default the reviewers' decision (approved: passed, "
            "declined: failed); or review.",
        )
        name = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")

    @extend_schema(
        operation_id="reviews_save_as_test_case",
        summary="Keep a decided review as a test case",
        description="Editors and publishers (writing test cases). 400 while the case is not decided.",
        request=Input,
        responses={201: OpenApiResponse(TestCaseSerializer, description="The new test case.")},
        parameters=[LOCATION],
    )
    def post(self, request, run_id):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.review_save_as_test_case(
            run=selectors.review_get(run_id).run,
            actor=request.user,
            expect=data.validated_data.get("expect", ""),
            name=data.validated_data["name"],
        )
        return _created(self, case)
