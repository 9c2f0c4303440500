"""Cursor pagination: stable pages while new runs and events keep arriving."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class NewestFirstPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering: tuple[str, ...] = ("-created_at",)


class RunPagination(NewestFirstPagination):
    ordering = ("-created_at", "-id")


class BatchPagination(NewestFirstPagination):
    ordering = ("-created_at", "-id")


class AuditPagination(NewestFirstPagination):
    ordering = ("-sequence",)


class TestCasePagination(NewestFirstPagination):
    """By name, as the console lists them (names are unique in a pipeline)."""

    __test__ = False  # a paginator, not a pytest class
    ordering = ("name", "id")


class SuiteRunPagination(NewestFirstPagination):
    ordering = ("-created_at", "-id")


class ImpactReportPagination(NewestFirstPagination):
    ordering = ("-created_at", "-id")
