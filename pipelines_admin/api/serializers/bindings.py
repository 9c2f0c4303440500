"""Service bindings: how an environment reaches each outside service its rules call."""

from __future__ import annotations

import math

from rest_framework import serializers

from pipelines_admin.api.serializers.common import ProblemSerializer
from pipelines_admin.configs.models import ServiceBinding

KIND_HELP = (
    "`simulated`: the deterministic simulated adapter, with `latency_ms` and `failure_rate`; `http`: a "
    "JSON endpoint at `url`, with `timeout_seconds`, `retries` and `secret_env`. Only the settings of the kind are "
    "kept; the others go back to their defaults."
)
SECRET_ENV_HELP = (
    "The NAME of the environment variable holding the vendor's API key (sent as `Authorization: "  # noqa: S105 - help text
    "Bearer`), like `JUMIO_API_KEY`: upper-case letters, digits and underscores. The key itself is "
    "never sent to, stored in or shown by the console; the console's own settings are refused."
)
URL_HELP = (
    "http:// or https:// endpoint, no credentials, query or fragment; each operation's name is appended."
)
TIMEOUT_HELP = (
    "Seconds the HTTP adapter waits for an answer (0.01 to 300). With its retries and the waits "
    "between them, it must be shorter than the time limit of every enabled rule calling the service."
)
RETRIES_HELP = (
    "HTTP: times (0 to 5) a call that failed transiently (no answer, no connection, 429, 5xx) is sent "
    "again, waiting 0.2 s, then twice as long each time; 4xx answers are not retried. The rule's own "
    "`retry` setting retries the whole rule on top of that."
)


class BindingSerializer(serializers.Serializer):
    environment = serializers.CharField(source="environment.name")
    service = serializers.CharField(help_text="Interface:name, as in this binding's URL.")
    reference = serializers.CharField(help_text="service:Interface:name, as rules' params name it.")
    interface = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=ServiceBinding.Kind.choices, help_text=KIND_HELP)
    url = serializers.CharField(allow_blank=True, help_text=URL_HELP)
    timeout_seconds = serializers.FloatField(help_text=TIMEOUT_HELP)
    retries = serializers.IntegerField(help_text=RETRIES_HELP)
    secret_env = serializers.CharField(allow_blank=True, help_text=SECRET_ENV_HELP)
    latency_ms = serializers.IntegerField(help_text="Delay the simulated adapter adds to each call.")
    failure_rate = serializers.FloatField(help_text="Share of calls the simulated adapter fails (0 to 1).")
    updated_at = serializers.DateTimeField()


class ServiceCallerSerializer(serializers.Serializer):
    pipeline = serializers.SlugField(source="pipeline.slug")
    version = serializers.IntegerField(help_text="The version live there.")
    stage = serializers.CharField()
    rule = serializers.CharField()
    enabled = serializers.BooleanField(help_text="The rule and its stage are on.")
    time_limit_seconds = serializers.SerializerMethodField(
        help_text="How long the rule waits for the call (its own or the default limit, within its stage's); "
        "null without a limit."
    )
    path = serializers.CharField(
        help_text="JSON pointer of the param naming the service in the effective config."
    )

    def get_time_limit_seconds(self, caller) -> float | None:
        return None if math.isinf(caller.time_limit) else caller.time_limit


class ReferencedServiceSerializer(serializers.Serializer):
    service = serializers.CharField()
    reference = serializers.CharField()
    interface = serializers.CharField()
    name = serializers.CharField()
    bound = serializers.SerializerMethodField(
        help_text="False: the simulated adapter serves it, zero latency."
    )
    callers = ServiceCallerSerializer(
        many=True, help_text="Each rule of a pipeline live there that calls it."
    )

    def get_bound(self, service) -> bool:
        return service.binding is not None


class PipelineProblemsSerializer(serializers.Serializer):
    pipeline = serializers.SlugField()
    name = serializers.CharField()
    version = serializers.IntegerField(help_text="The version live there.")
    release = serializers.IntegerField(help_text="The live release.")
    problems = ProblemSerializer(
        many=True,
        help_text="What the change would break, each with its JSON-pointer "
        "path in the pipeline's effective config.",
    )


class BindingRefusedSerializer(serializers.Serializer):
    class Extra(serializers.Serializer):
        fields = serializers.DictField(required=False, help_text="Invalid fields: name -> messages.")  # type: ignore[assignment]  # an API field named like a DRF attribute
        pipelines = PipelineProblemsSerializer(
            many=True,
            required=False,
            help_text="When the change would make the live config of pipelines there invalid: each of them with "
            "its problems. Nothing was changed.",
        )
        environment = serializers.CharField(required=False)

    message = serializers.CharField()
    extra = Extra()
