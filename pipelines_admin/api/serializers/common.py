"""Fields and shapes used across the API: the error body, JSON objects, users."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# what the database integer columns and path numbers accept
MAX_INT = 2**31 - 1


class ErrorSerializer(serializers.Serializer):
    """Every failure: what went wrong, in a sentence, and the details a program needs
    (problems with their JSON-pointer paths, invalid fields, the conflicting versions...)."""

    message = serializers.CharField()
    extra = serializers.DictField(
        help_text="Details: `problems` [{path, message}], `fields` {name: [errors]}, "
        "or what the operation documents."
    )


class ProblemSerializer(serializers.Serializer):
    path = serializers.CharField(
        allow_blank=True, help_text="JSON pointer into the document; empty for the whole."
    )
    message = serializers.CharField()


class JsonObjectField(serializers.DictField):
    """Any JSON object (a pipeline document, an override, an application record)."""


@extend_schema_field(OpenApiTypes.STR)
class UsernameField(serializers.Field):
    """A user, as its username (null when there is none, e.g. the system)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value.get_username() if value is not None else None


class WindowFilters(serializers.Serializer):
    """The query of a figures endpoint: one pipeline or all, one environment or all, and
    how many hours back."""

    pipeline = serializers.SlugField(
        max_length=80, required=False, help_text="Pipeline slug; all by default."
    )
    environment = serializers.SlugField(
        max_length=50, required=False, help_text="Environment name; all by default."
    )
    hours = serializers.IntegerField(
        min_value=1, max_value=24 * 90, required=False, default=24, help_text="How far back, in hours."
    )
