"""What a change would do, worked out without doing it: the state it produces, its hash,
and the before and after a reviewer reads. Opening a request, every approval and every
apply work it out again, so an approval stands only for the exact result it saw."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipelines_admin.configs.diffs import semantic_diff
from pipelines_admin.configs.engine import document_hash
from pipelines_admin.configs.models import ConfigVersion, Environment, Pipeline, Release, ServiceBinding
from pipelines_admin.configs.overrides import apply_override
from pipelines_admin.configs.selectors import release_live, version_get
from pipelines_admin.configs.services import ENVIRONMENT_FIELDS, binding_values, environment_settings
from pipelines_admin.core.canonical import content_hash
from pipelines_admin.core.errors import InvalidInput, NotFound
from pipelines_admin.releases.services import toggle_plan
from pipelines_admin.testcases.gate import cases_fingerprint

KINDS = ("release", "rollback", "override", "toggle", "binding", "environment")
PIPELINE_KINDS = ("release", "rollback", "override", "toggle")


@dataclass
class Plan:
    """The outcome of a change as things stand now."""

    kind: str
    effective_hash: str
    #: the versions the change would put live (their authors may not approve it)
    releases_versions: list[ConfigVersion] = field(default_factory=list)
    version: ConfigVersion | None = None
    override: dict | None = None
    before: Any = None
    after: Any = None
    changes: list[dict] = field(default_factory=list)

    @property
    def short_hash(self) -> str:
        return self.effective_hash.removeprefix("sha256:")[:12]


def _payload_error(message: str, field_name: str) -> InvalidInput:
    return InvalidInput(message, {"fields": {field_name: [message]}})


def _effective(release: Release | None) -> dict:
    return apply_override(release.version.document, release.override) if release else {}


def plan_change(
    *, kind: str, pipeline: Pipeline | None, environment: Environment, payload: dict, diff: bool = True
) -> Plan:
    """Work out what `payload` would do to `environment` now (raises what applying it
    would raise for a change that can no longer be made: NotFound, InvalidInput...).
    `diff` False leaves `changes` empty: the hash alone, for lists."""
    plan = _plan(kind=kind, pipeline=pipeline, environment=environment, payload=payload)
    if diff:
        plan.changes = semantic_diff(plan.before, plan.after)
    return plan


def _plan(*, kind: str, pipeline: Pipeline | None, environment: Environment, payload: dict) -> Plan:
    if kind not in KINDS:
        raise _payload_error(f"Unknown kind of change {kind!r}: one of {', '.join(KINDS)}.", "kind")
    if not isinstance(payload, dict):
        raise _payload_error("A change's payload must be a JSON object.", "payload")
    if kind in PIPELINE_KINDS:
        if pipeline is None:
            raise _payload_error(f"A {kind} names a pipeline.", "pipeline")
        return _plan_pipeline_change(kind, pipeline, environment, payload)
    if kind == "binding":
        return _plan_binding(environment, payload)
    return _plan_settings(environment, payload)


def _plan_pipeline_change(kind: str, pipeline: Pipeline, environment: Environment, payload: dict) -> Plan:
    live = release_live(pipeline, environment)
    released: list[ConfigVersion] = []
    if kind == "release":
        number = payload.get("version")
        if not isinstance(number, int) or isinstance(number, bool):
            raise _payload_error("A release names a version number.", "version")
        version = version_get(pipeline, number)
        override = payload.get("override")
        if override is None:
            override = live.override if live else {}
        released = [version]
    elif kind == "rollback":
        to_release = payload.get("to_release")
        target = (
            Release.objects.filter(pk=to_release, pipeline=pipeline, environment=environment).first()
            if isinstance(to_release, int)
            else None
        )
        if target is None:
            raise NotFound(
                f"Release {payload.get('to_release')} is not a release of {pipeline.slug} in {environment.name}."
            )
        version, override = target.version, target.override
        released = [version]
    elif kind == "override":
        if live is None:
            raise NotFound(f"{pipeline.slug} has not been released to {environment.name} yet.")
        version, override = live.version, payload.get("override")
    else:
        if not isinstance(payload.get("stage"), str) or not isinstance(payload.get("enabled"), bool):
            raise _payload_error("A toggle names a stage (and a rule) and whether it is enabled.", "stage")
        live, override, _ = toggle_plan(
            pipeline=pipeline,
            environment=environment,
            stage=payload["stage"],
            rule=payload.get("rule") or None,
            enabled=payload["enabled"],
            disable_dependents=bool(payload.get("disable_dependents")),
        )
        version = live.version
    if not isinstance(override, dict):
        raise _payload_error("An override must be a JSON object (a merge patch).", "override")
    before = _effective(live)
    after = apply_override(version.document, override)
    return Plan(
        kind=kind,
        effective_hash=document_hash(after),
        releases_versions=released,
        version=version,
        override=override,
        before=before,
        after=after,
    )


def binding_state(environment: Environment, interface: str, name: str) -> dict:
    return binding_values(
        ServiceBinding.objects.filter(environment=environment, interface=interface, name=name).first()
    )


def _plan_binding(environment: Environment, payload: dict) -> Plan:
    interface, name = payload.get("interface"), payload.get("name")
    if not isinstance(interface, str) or not isinstance(name, str):
        raise _payload_error("A binding change names the service's interface and name.", "service")
    before = binding_state(environment, interface, name)
    values = payload.get("values") or {}
    if not isinstance(values, dict):
        raise _payload_error("A binding's settings are a JSON object.", "values")
    after = {} if payload.get("remove") else {**before, **values}
    state = {
        "environment": environment.name,
        "service": f"{interface}:{name}",
        "before": before,
        "after": after,
    }
    return Plan(
        kind="binding",
        effective_hash=content_hash(state),
        before=before,
        after=after,
    )


def _plan_settings(environment: Environment, payload: dict) -> Plan:
    before = environment_settings(environment)
    unknown = set(payload) - set(ENVIRONMENT_FIELDS)
    if unknown:
        raise _payload_error(f"Unknown settings: {', '.join(sorted(unknown))}.", "payload")
    after = {**before, **payload}
    state = {"environment": environment.name, "before": before, "after": after}
    return Plan(
        kind="environment",
        effective_hash=content_hash(state),
        before=before,
        after=after,
    )


def fingerprint_for(pipeline: Pipeline | None) -> str:
    """The test cases' fingerprint an approval is bound to ('' for environment changes)."""
    return cases_fingerprint(pipeline) if pipeline is not None else ""
