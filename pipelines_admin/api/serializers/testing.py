"""Test cases, suite runs, coverage and the release gate."""

from __future__ import annotations

from rest_framework import serializers

from pipelines_admin.api.serializers.common import JsonObjectField, UsernameField
from pipelines_admin.testcases.models import SuiteRun

EXPECTED_HELP = (
    'What the application must get: `{"status": "passed"|"failed"|"review"|"undecided"|"error", "rules": [{"stage", "rule", '
    '"outcome": "pass"|"fail"|"skip"|"error"|"timeout"}], "fields": [{"field": "dotted.path", "equals": value} '
    'or {"field", "exists": true|false}]}`; `rules` and `fields` are optional, `fields` are paths into the '
    "result's data. Every problem is a 400 with its JSON-pointer path in `extra.problems`."
)


class TestCaseSerializer(serializers.Serializer):
    __test__ = False  # a serializer, not a pytest class

    id = serializers.IntegerField()
    url = serializers.URLField()
    pipeline = serializers.SlugField(source="pipeline.slug")
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    input_masked = JsonObjectField(
        help_text="The application, PII masked. The API never shows it in clear: to "
        "change it, send the whole new application."
    )
    expected_masked = JsonObjectField(
        help_text="The expectation, with the expected values of PII fields masked."
    )
    source_run = serializers.UUIDField(
        source="source_run_id", allow_null=True, help_text="The run it was saved from, if any."
    )
    created_by = UsernameField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    latest_outcome = serializers.ChoiceField(
        choices=["passed", "failed"],
        allow_null=True,
        help_text="How it did in the pipeline's newest suite run; null when it was not in it (or none ran).",
    )
    latest_suite_run = serializers.IntegerField(
        allow_null=True, help_text="That suite run; null with the outcome."
    )


class TaskProgressSerializer(serializers.Serializer):
    percent = serializers.IntegerField(help_text="processed / total, 0 to 100.")
    finished = serializers.BooleanField()


class SuiteRunSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    pipeline = serializers.SlugField(source="pipeline.slug")
    environment = serializers.CharField(
        source="environment.name",
        help_text="Whose service bindings ran (and whose release the config is or would be).",
    )
    version = serializers.IntegerField(source="version.number")
    override = JsonObjectField(help_text="The merge patch applied to the version.")
    effective_hash = serializers.CharField(
        help_text="The exact config tested: what the release gate compares."
    )
    target = serializers.CharField(help_text="What was tested, in words, against what is live there now.")
    status = serializers.ChoiceField(
        choices=SuiteRun.Status.choices,
        help_text="queued and running until the worker is done; passed when every "
        "test case met its expectation, failed when some did not, error "
        "when the suite could not run.",
    )
    total = serializers.IntegerField()
    processed = serializers.IntegerField()
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()
    progress = TaskProgressSerializer()
    error = serializers.CharField(source="error_message", allow_blank=True)
    requested_by = UsernameField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class FailureSerializer(serializers.Serializer):
    what = serializers.CharField(help_text="`status`, `stage/rule`, or `field <path>`.")
    expected = serializers.JSONField(allow_null=True)
    actual = serializers.JSONField(allow_null=True)
    message = serializers.CharField()


class CaseResultSerializer(serializers.Serializer):
    case = serializers.IntegerField(help_text="The test case's id.")
    name = serializers.CharField()
    passed = serializers.BooleanField(help_text="It met every expectation.")
    status = serializers.CharField(
        help_text="The application's decision: passed, failed, review, undecided or error."
    )
    error = serializers.CharField(allow_blank=True)
    duration_ms = serializers.FloatField()
    failures = FailureSerializer(many=True, help_text="Each expectation it did not meet (PII masked).")
    outcomes = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="[stage, rule, outcome] of every rule that ran.",
    )
    result = JsonObjectField(
        allow_null=True, help_text="The engine's result, PII masked, for a case that failed."
    )


class SuiteRunSerializer(SuiteRunSummarySerializer):
    results = CaseResultSerializer(many=True, help_text="One entry per test case, once finished.")
    coverage = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="`stage/rule` -> outcome -> how many test cases got it.",
    )


class RuleRefSerializer(serializers.Serializer):
    stage = serializers.CharField()
    rule = serializers.CharField()


class CoverageRowSerializer(RuleRefSerializer):
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="outcome -> how many test cases."
    )
    exercised = serializers.BooleanField(
        help_text="Some test case makes the rule pass or fail (a skip or an error tests nothing)."
    )


class GateStateSerializer(serializers.Serializer):
    required = serializers.BooleanField(  # type: ignore[assignment]  # an API field named like a DRF attribute
        help_text="The environment is protected: a passing suite run is needed."
    )
    open = serializers.BooleanField(help_text="The config may be released without a gate override.")
    message = serializers.CharField(help_text="Why, in a sentence.")
    passing_suite_run = serializers.IntegerField(
        allow_null=True,
        help_text="The suite run that passed on this exact config with the test cases as they are now.",
    )
    latest_suite_run = serializers.IntegerField(
        allow_null=True, help_text="The newest suite run on this exact config, whatever its status."
    )


class GateClosedExtraSerializer(serializers.Serializer):
    gate = GateStateSerializer()


class GateClosedSerializer(serializers.Serializer):
    message = serializers.CharField()
    extra = GateClosedExtraSerializer()
