"""Writes to pipelines, versions, releases, overrides, environments and service bindings.

Every function checks the actor's role, validates with rules_engine, and records an
audit event in the same transaction as the change it makes.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from pipelines_admin.accounts.permissions import ENVIRONMENT_CHANGE, VERSION_CREATE, require
from pipelines_admin.audit.services import audit_record
from pipelines_admin.configs.diffs import semantic_diff, text_diff
from pipelines_admin.configs.engine import (
    binding_problems,
    config_dependents,
    config_stage_rule_ids,
    document_hash,
    document_problems,
)
from pipelines_admin.configs.models import ConfigVersion, Environment, Pipeline, Release, ServiceBinding
from pipelines_admin.configs.overrides import apply_override, override_between, set_at
from pipelines_admin.configs.selectors import (
    environment_live_releases,
    environment_revision,
    release_live,
    release_of_revision,
    settings_revision,
    version_latest,
)
from pipelines_admin.core.errors import Conflict, InvalidInput, NotFound
from pipelines_admin.core.revisions import MISSING, revision_check
from pipelines_admin.testcases.gate import gate_enforce


def _require_valid(document: Any, environment: Environment | None = None, what: str = "The config") -> None:
    problems = document_problems(document, environment)
    if problems:
        raise InvalidInput(
            f"{what} has {len(problems)} problem{'s' if len(problems) != 1 else ''}.", {"problems": problems}
        )


def _locked(pipeline: Pipeline) -> Pipeline:
    """Lock the pipeline row: version numbers and releases of one pipeline are written one at a time."""
    return Pipeline.objects.select_for_update().get(pk=pipeline.pk)


@transaction.atomic
def pipeline_create(
    *, slug: str, name: str, document: dict, author, description: str = "", message: str = "First version"
) -> Pipeline:
    require(author, VERSION_CREATE)
    if Pipeline.objects.filter(slug=slug).exists():
        raise Conflict(f"A pipeline {slug!r} already exists.", {"pipeline": slug})
    pipeline = Pipeline(slug=slug, name=name, description=description, created_by=author)
    try:
        pipeline.full_clean()
    except ValidationError as exc:
        raise InvalidInput("The pipeline's details are not valid.", {"fields": exc.message_dict}) from None
    _require_valid(document)
    pipeline.save()
    audit_record(
        actor=author,
        action="pipeline.created",
        object_type="pipeline",
        object_id=pipeline.pk,
        object_repr=pipeline.name,
        pipeline=pipeline.slug,
    )
    _version_save(pipeline=pipeline, document=document, parent=None, author=author, message=message)
    return pipeline


def _version_save(
    *, pipeline: Pipeline, document: dict, parent: ConfigVersion | None, author, message: str
) -> ConfigVersion:
    version = ConfigVersion.objects.create(
        pipeline=pipeline,
        number=(parent.number + 1) if parent else 1,
        document=document,
        content_hash=document_hash(document),
        parent=parent,
        author=author,
        message=message,
    )
    changes = semantic_diff(parent.document if parent else {}, document)
    audit_record(
        actor=author,
        action="config_version.created",
        object_type="config_version",
        object_id=version.pk,
        object_repr=str(version),
        pipeline=pipeline.slug,
        diff={
            "changes": changes,
            "from_version": parent.number if parent else None,
            "to_version": version.number,
        },
        reason=message,
        data={"content_hash": version.content_hash},
    )
    return version


@transaction.atomic
def config_version_create(
    *, pipeline: Pipeline, document: dict, base_version: ConfigVersion | None, author, message: str
) -> ConfigVersion:
    """Save `document` as the next version. `base_version` is the version the author
    started from; when another version was saved since, nothing is written and the
    Conflict carries what changed in between."""
    require(author, VERSION_CREATE)
    message = (message or "").strip()
    if not message:
        raise InvalidInput(
            "Say what changed: a version needs a message.", {"fields": {"message": ["required"]}}
        )
    limit = ConfigVersion._meta.get_field("message").max_length
    if len(message) > limit:
        raise InvalidInput(
            f"A version's message is at most {limit} characters; this one has {len(message)}.",
            {"fields": {"message": [f"at most {limit} characters"]}},
        )
    pipeline = _locked(pipeline)
    latest = version_latest(pipeline)
    if latest is not None and (base_version is None or base_version.pk != latest.pk):
        base_number = base_version.number if base_version else None
        raise Conflict(
            f"Version {latest.number} was saved after the version {base_number} you started from; "
            "review its changes and apply yours to it.",
            {
                "base_version": base_number,
                "latest_version": latest.number,
                "changes": semantic_diff(base_version.document if base_version else {}, latest.document),
                "text_diff": text_diff(
                    base_version.document if base_version else {},
                    latest.document,
                    f"v{base_number}",
                    f"v{latest.number}",
                ),
            },
        )
    _require_valid(document)
    if latest is not None and document_hash(document) == latest.content_hash:
        raise InvalidInput(f"Nothing changed: the document is the same as version {latest.number}.")
    return _version_save(pipeline=pipeline, document=document, parent=latest, author=author, message=message)


def _release(
    *,
    pipeline: Pipeline,
    environment: Environment,
    version: ConfigVersion,
    override: dict,
    kind: str,
    actor,
    reason: str,
    action: str,
    gate_override: bool = False,
    audit_data: dict | None = None,
    base_revision: str | None = None,
) -> Release:
    """Every change to what an environment runs comes here. A protected environment also
    needs the release gate open (see testcases.gate) or overridden with the reason.
    With `base_revision` (what the editor saw, see selectors.environment_revision), a
    change made since is a Stale error saying what it changed."""
    require(actor, ENVIRONMENT_CHANGE, environment)
    reason = _require_reason(environment, reason) if environment.protected else (reason or "").strip()
    if version.pipeline_id != pipeline.pk:
        raise NotFound(f"Version {version.number} does not belong to {pipeline.slug}.")
    if not isinstance(override, dict):
        raise InvalidInput(
            "An override must be a JSON object (a merge patch).",
            {"problems": [{"path": "", "message": "expected an object"}]},
        )
    pipeline = _locked(pipeline)
    environment = _environment_locked(environment)  # its bindings stay as validated until this commits
    previous = release_live(pipeline, environment)
    _check_base(pipeline, environment, previous, base_revision)
    effective = apply_override(version.document, override)
    _require_valid(effective, environment, what=f"The effective config for {environment.name}")
    effective_hash = document_hash(effective)
    if (
        previous is not None
        and previous.effective_hash == effective_hash
        and previous.version_id == version.pk
    ):
        raise InvalidInput(f"Nothing changed: {environment.name} already runs exactly this config.")
    gate = gate_enforce(
        pipeline=pipeline,
        environment=environment,
        effective_hash=effective_hash,
        gate_override=gate_override,
        reason=reason,
    )
    release = Release.objects.create(
        pipeline=pipeline,
        environment=environment,
        version=version,
        override=override,
        effective_hash=effective_hash,
        kind=kind,
        previous=previous,
        reason=reason,
        released_by=actor,
    )
    before = apply_override(previous.version.document, previous.override) if previous else {}
    audit_record(
        actor=actor,
        action=action,
        object_type="release",
        object_id=release.pk,
        object_repr=str(release),
        pipeline=pipeline.slug,
        environment=environment.name,
        reason=reason,
        diff={
            "changes": semantic_diff(before, effective),
            "from_version": previous.version.number if previous else None,
            "to_version": version.number,
            "override_before": previous.override if previous else None,
            "override_after": override,
        },
        data={"effective_hash": effective_hash, "kind": kind, "gate": gate, **(audit_data or {})},
    )
    if gate["result"] == "overridden":
        audit_record(
            actor=actor,
            action="release_gate.overridden",
            object_type="release",
            object_id=release.pk,
            object_repr=str(release),
            pipeline=pipeline.slug,
            environment=environment.name,
            reason=reason,
            data={"effective_hash": effective_hash, "why_closed": gate["why_closed"]},
        )
    return release


@transaction.atomic
def release_create(
    *,
    pipeline: Pipeline,
    environment: Environment,
    version: ConfigVersion,
    actor,
    reason: str = "",
    override: dict | None = None,
    gate_override: bool = False,
) -> Release:
    """Release `version` to `environment`, keeping the environment's override unless
    another is given."""
    if override is None:
        live = release_live(pipeline, environment)
        override = live.override if live else {}
    return _release(
        pipeline=pipeline,
        environment=environment,
        version=version,
        override=override,
        kind=Release.Kind.RELEASE,
        actor=actor,
        reason=reason,
        action="release.created",
        gate_override=gate_override,
    )


def _check_base(
    pipeline: Pipeline, environment: Environment, live: Release | None, base_revision: str | None
) -> None:
    """Stale when the environment changed since `base_revision`, with the changes between
    what the editor saw and what runs now."""
    current = environment_revision(live)
    if base_revision is None or base_revision == current:
        return
    if base_revision == MISSING:
        revision_check(base=base_revision, current=current, what=f"What {environment.name} runs")
    seen = release_of_revision(pipeline, environment, base_revision)
    before = apply_override(seen.version.document, seen.override) if seen else {}
    after = apply_override(live.version.document, live.override) if live else {}
    revision_check(
        base=base_revision,
        current=current,
        what=f"What {environment.name} runs",
        extra={
            "environment": environment.name,
            "seen_release": seen.pk if seen else None,
            "live_release": {
                "id": live.pk,
                "kind": live.kind,
                "version": live.version.number,
                "released_by": live.released_by.get_username() if live and live.released_by else None,
                "released_at": live.released_at.isoformat(),
            }
            if live
            else None,
            "changes": semantic_diff(before, after) if seen else [],
        },
    )


def _live_or_404(pipeline: Pipeline, environment: Environment) -> Release:
    live = release_live(pipeline, environment)
    if live is None:
        raise NotFound(
            f"{pipeline.slug} has not been released to {environment.name} yet: release a version first.",
            {"pipeline": pipeline.slug, "environment": environment.name},
        )
    return live


@transaction.atomic
def override_set(
    *,
    pipeline: Pipeline,
    environment: Environment,
    override: dict,
    actor,
    reason: str = "",
    gate_override: bool = False,
    base_revision: str | None = None,
) -> Release:
    """Replace the environment's override (a JSON merge patch over the live version)."""
    live = _live_or_404(pipeline, environment)
    return _release(
        pipeline=pipeline,
        environment=environment,
        version=live.version,
        override=override,
        kind=Release.Kind.OVERRIDE,
        actor=actor,
        reason=reason,
        action="override.set",
        gate_override=gate_override,
        base_revision=base_revision,
    )


def _toggle(
    *,
    pipeline,
    environment,
    stage: str,
    rule: str | None,
    enabled: bool,
    actor,
    reason,
    action: str,
    gate_override: bool,
    disable_dependents: bool,
    base_revision: str | None,
):
    """Turn a stage (rule None) or a rule on or off. Turning something off that enabled
    rules depend on, directly or through other rules, is refused with the list of them
    (DependentsEnabled) unless `disable_dependents` turns them off too, in the same
    release; the audit event names every rule turned off."""
    require(actor, ENVIRONMENT_CHANGE, environment)  # before saying anything about the consequences
    live = _live_or_404(pipeline, environment)
    _check_base(pipeline, environment, live, base_revision)
    effective = apply_override(live.version.document, live.override)
    path = ["stages", stage] + (["rules", rule] if rule else [])
    what = f"Rule {rule} of stage {stage}" if rule else f"Stage {stage}"
    node: Any = effective
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            raise NotFound(f"{what} does not exist in {environment.name}.", {"path": "/" + "/".join(path)})
    if bool(node.get("enabled", True)) == enabled:
        raise InvalidInput(f"{what} is already {'enabled' if enabled else 'disabled'} in {environment.name}.")
    changed = set_at(effective, path + ["enabled"], enabled)
    dependents = [] if enabled else toggle_dependents(effective, stage, rule)
    if dependents and not disable_dependents:
        raise DependentsEnabled(what=what, environment=environment, dependents=dependents)
    for dependent in dependents:
        changed = set_at(
            changed, ["stages", dependent["stage"], "rules", dependent["rule"], "enabled"], False
        )
    release = _release(
        pipeline=pipeline,
        environment=environment,
        version=live.version,
        override=override_between(live.version.document, changed),
        kind=Release.Kind.TOGGLE,
        actor=actor,
        reason=reason,
        action=action,
        gate_override=gate_override,
        audit_data={
            "toggled": {"stage": stage, "rule": rule, "enabled": enabled},
            "disabled_dependents": dependents,
        },
        base_revision=base_revision,
    )
    release.disabled_dependents = dependents  # for the caller's message; the audit event keeps them
    return release


class DependentsEnabled(Conflict):
    """Turning something off would leave enabled rules that need it unable to run."""

    def __init__(self, *, what: str, environment: Environment, dependents: list[dict]):
        names = ", ".join(f"{d['stage']}/{d['rule']}" for d in dependents)
        count = len(dependents)
        super().__init__(
            f"Turning off {what[0].lower() + what[1:]} in {environment.name} would leave {count} enabled "
            f"rule{'s' if count != 1 else ''} that depend{'s' if count == 1 else ''} on it unable to run: {names}. "
            f"Turn {'it' if count == 1 else 'them'} off too in the same release, or cancel.",
            {"dependents": dependents, "environment": environment.name},
        )
        self.dependents = dependents


def toggle_dependents(effective: dict, stage: str, rule: str | None) -> list[dict]:
    """The enabled rules that depend, directly or through other rules, on the stage's
    rules (rule None) or on one rule, as {"stage", "rule"}; a stage's own rules go off
    with it and are not listed."""
    targets = [rule] if rule else config_stage_rule_ids(effective, stage)
    found = config_dependents(effective, targets)
    return [ref.to_dict() for ref in found if rule or ref.stage != stage]


@transaction.atomic
def stage_toggle(
    *,
    pipeline: Pipeline,
    environment: Environment,
    stage: str,
    enabled: bool,
    actor,
    reason: str = "",
    gate_override: bool = False,
    disable_dependents: bool = False,
    base_revision: str | None = None,
) -> Release:
    return _toggle(
        pipeline=pipeline,
        environment=environment,
        stage=stage,
        rule=None,
        enabled=enabled,
        actor=actor,
        reason=reason,
        action="stage.toggled",
        gate_override=gate_override,
        disable_dependents=disable_dependents,
        base_revision=base_revision,
    )


@transaction.atomic
def rule_toggle(
    *,
    pipeline: Pipeline,
    environment: Environment,
    stage: str,
    rule: str,
    enabled: bool,
    actor,
    reason: str = "",
    gate_override: bool = False,
    disable_dependents: bool = False,
    base_revision: str | None = None,
) -> Release:
    return _toggle(
        pipeline=pipeline,
        environment=environment,
        stage=stage,
        rule=rule,
        enabled=enabled,
        actor=actor,
        reason=reason,
        action="rule.toggled",
        gate_override=gate_override,
        disable_dependents=disable_dependents,
        base_revision=base_revision,
    )


@transaction.atomic
def release_rollback(
    *,
    pipeline: Pipeline,
    environment: Environment,
    to_release: Release,
    actor,
    reason: str = "",
    gate_override: bool = False,
) -> Release:
    """Run an earlier release's version and override again (as a new release)."""
    if to_release.pipeline_id != pipeline.pk or to_release.environment_id != environment.pk:
        raise NotFound(f"Release {to_release.pk} is not a release of {pipeline.slug} in {environment.name}.")
    return _release(
        pipeline=pipeline,
        environment=environment,
        version=to_release.version,
        override=to_release.override,
        kind=Release.Kind.ROLLBACK,
        actor=actor,
        reason=reason,
        action="release.rolled_back",
        gate_override=gate_override,
    )


# -- environments and their service bindings ----------------------------------------------

BINDING_FIELDS = ("kind", "url", "timeout_seconds", "retries", "secret_env", "latency_ms", "failure_rate")
ENVIRONMENT_FIELDS = ("protected", "position", "description")


def _environment_locked(environment: Environment) -> Environment:
    """Lock the environment row: its settings, its bindings and what is released to it
    change one at a time (NO KEY UPDATE: runs and batches referencing it are not held up)."""
    try:
        return Environment.objects.select_for_update(no_key=True).get(pk=environment.pk)
    except Environment.DoesNotExist:
        raise NotFound(
            f"There is no environment {environment.name!r}.", {"environment": environment.name}
        ) from None


def _require_reason(environment: Environment, reason: str, why: str = "") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            why or f"{environment.name} is protected: give a reason for this change.",
            {"fields": {"reason": ["required for protected environments"]}},
        )
    return reason


def _validation_error(exc: ValidationError, message: str) -> InvalidInput:
    return InvalidInput(message, {"fields": exc.message_dict})


def _live_configs_check(environment: Environment, bindings: list[ServiceBinding], what: str) -> None:
    """Refuse a change to an environment's bindings that would make the effective config
    of any pipeline live there invalid: each pipeline's new problems, with their paths.
    Problems a config has with the current bindings too are not the change's doing."""
    current = list(environment.service_bindings.all())
    failures = []
    for release in environment_live_releases(environment):
        effective = apply_override(release.version.document, release.override)
        problems = document_problems(effective, environment, bindings=bindings)
        if not problems:
            continue
        before = {
            (p["path"], p["message"]) for p in document_problems(effective, environment, bindings=current)
        }
        new = [p for p in problems if (p["path"], p["message"]) not in before]
        if new:
            failures.append(
                {
                    "pipeline": release.pipeline.slug,
                    "name": release.pipeline.name,
                    "version": release.version.number,
                    "release": release.pk,
                    "problems": new,
                }
            )
    if failures:
        count = sum(len(f["problems"]) for f in failures)
        names = ", ".join(f["pipeline"] for f in failures)
        raise InvalidInput(
            f"{what} would make the live config of {len(failures)} pipeline{'s' if len(failures) != 1 else ''} "
            f"in {environment.name} invalid ({names}: {count} problem{'s' if count != 1 else ''}); nothing was "
            f"changed.",
            {"pipelines": failures, "environment": environment.name},
        )


def _check_binding_base(binding: ServiceBinding, base_revision: str | None) -> None:
    revision_check(
        base=base_revision,
        current=settings_revision(binding),
        what=f"The binding of service:{binding.interface}:{binding.name} in {binding.environment.name}",
        extra={"now": _binding_values(binding), "updated_at": binding.updated_at.isoformat()},
    )


def _binding_values(binding: ServiceBinding | None) -> dict:
    return {f: getattr(binding, f) for f in BINDING_FIELDS} if binding is not None else {}


@transaction.atomic
def service_binding_set(
    *,
    environment: Environment,
    interface: str,
    name: str,
    actor,
    reason: str = "",
    expect: str | None = None,
    base_revision: str | None = None,
    **values,
) -> ServiceBinding:
    """Create or change how `environment` reaches service:interface:name. Only the
    settings of its kind are kept (a simulated binding has no URL; an HTTP one no
    simulated latency); the others go back to their defaults. The effective config of
    every pipeline live there is validated with the new bindings first.

    `expect`: "new" refuses to change an existing binding (Conflict), "existing" to create
    one (NotFound); None does either. The returned binding's `changed` is False when it
    already was exactly so (nothing is written then). `base_revision`: the binding's
    revision the change is based on (Stale when it changed since)."""
    environment = _environment_locked(environment)
    require(actor, ENVIRONMENT_CHANGE, environment)
    if environment.protected:
        reason = _require_reason(environment, reason)
    unknown = set(values) - set(BINDING_FIELDS)
    if unknown:
        raise InvalidInput(
            f"Unknown binding settings: {', '.join(sorted(unknown))}.",
            {"fields": {field: ["unknown setting"] for field in sorted(unknown)}},
        )
    probe = ServiceBinding(environment=environment, interface=interface, name=name)
    try:
        probe.clean_fields(
            exclude=[f.name for f in ServiceBinding._meta.fields if f.name not in ("interface", "name")]
        )
    except ValidationError as exc:
        raise _validation_error(exc, "The service is not valid: choose an interface and a name.") from None
    binding = (
        ServiceBinding.objects.select_for_update()
        .filter(environment=environment, interface=interface, name=name)
        .first()
    )
    if binding is not None and expect == "new":
        raise Conflict(
            f"{environment.name} already binds service:{interface}:{name}: change that binding instead.",
            {"environment": environment.name, "service": f"{interface}:{name}"},
        )
    if binding is None and expect == "existing":
        raise NotFound(
            f"{environment.name} has no binding for {interface}:{name}.",
            {"environment": environment.name, "service": f"{interface}:{name}"},
        )
    if binding is not None:
        _check_binding_base(binding, base_revision)
    before = _binding_values(binding)
    binding = binding or ServiceBinding(environment=environment, interface=interface, name=name)
    for field, value in values.items():
        setattr(binding, field, value)
    kept = ServiceBinding.KIND_FIELDS.get(binding.kind) if isinstance(binding.kind, str) else None
    for field in BINDING_FIELDS[1:] if kept is not None else ():
        if field not in kept:
            setattr(binding, field, ServiceBinding._meta.get_field(field).get_default())
    if isinstance(binding.url, str):
        binding.url = binding.url.strip()
    if binding.kind == ServiceBinding.Kind.HTTP and not binding.url:
        raise InvalidInput(
            "An HTTP binding needs a URL.", {"fields": {"url": ["required for HTTP bindings"]}}
        )
    try:
        binding.full_clean()
    except ValidationError as exc:
        raise _validation_error(exc, "The service binding is not valid.") from None
    engine_says = binding_problems(binding)
    if engine_says:
        raise InvalidInput(
            "The engine cannot use this binding: " + "; ".join(engine_says),
            {"fields": {"__all__": engine_says}},
        )
    after = _binding_values(binding)
    if before == after:
        binding.changed = False
        return binding
    others = [b for b in environment.service_bindings.all() if (b.interface, b.name) != (interface, name)]
    _live_configs_check(environment, others + [binding], f"Binding service:{interface}:{name} so")
    created = binding.pk is None
    binding.save()
    audit_record(
        actor=actor,
        action="service_binding.set",
        object_type="service_binding",
        object_id=binding.pk,
        object_repr=f"service:{interface}:{name}",
        environment=environment.name,
        reason=reason,
        diff={"before": before, "after": after},
        data={"created": created},
    )
    binding.changed = True
    return binding


@transaction.atomic
def service_binding_remove(
    *,
    environment: Environment,
    interface: str,
    name: str,
    actor,
    reason: str = "",
    base_revision: str | None = None,
) -> None:
    """Remove a binding: the rules calling service:interface:name get the simulated
    adapter again. Refused like a change when a live config would become invalid."""
    environment = _environment_locked(environment)
    require(actor, ENVIRONMENT_CHANGE, environment)
    if environment.protected:
        reason = _require_reason(environment, reason)
    binding = (
        ServiceBinding.objects.select_for_update()
        .filter(environment=environment, interface=interface, name=name)
        .first()
    )
    if binding is None:
        raise NotFound(
            f"{environment.name} has no binding for {interface}:{name}.",
            {"environment": environment.name, "service": f"{interface}:{name}"},
        )
    _check_binding_base(binding, base_revision)
    others = [b for b in environment.service_bindings.all() if b.pk != binding.pk]
    _live_configs_check(environment, others, f"Removing the binding of service:{interface}:{name}")
    before, binding_id = _binding_values(binding), binding.pk
    binding.delete()
    audit_record(
        actor=actor,
        action="service_binding.removed",
        object_type="service_binding",
        object_id=binding_id,
        object_repr=f"service:{interface}:{name}",
        environment=environment.name,
        reason=reason,
        diff={"before": before, "after": {}},
    )


@transaction.atomic
def environment_create(
    *, name: str, actor, protected: bool = False, description: str = "", position: int = 100
) -> Environment:
    """Add an environment; only publishers (or superusers) may."""
    probe = Environment(name=name, protected=True)
    require(actor, ENVIRONMENT_CHANGE, probe)
    environment = Environment(
        name=name, protected=protected, description=(description or "").strip(), position=position
    )
    try:
        environment.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise _validation_error(exc, "The environment is not valid.") from None
    if Environment.objects.filter(name=name).exists():
        raise Conflict(
            f"An environment {name!r} already exists.",
            {"environment": name, "fields": {"name": ["already exists"]}},
        )
    environment.save()
    audit_record(
        actor=actor,
        action="environment.created",
        object_type="environment",
        object_id=environment.pk,
        object_repr=name,
        environment=name,
        data={
            "protected": protected,
            "position": environment.position,
            "description": environment.description,
        },
    )
    return environment


@transaction.atomic
def environment_update(
    *,
    environment: Environment,
    actor,
    protected: bool,
    position: int,
    description: str,
    reason: str = "",
    base_revision: str | None = None,
) -> Environment:
    """Change an environment's settings (its name never changes: runs, releases and audit
    events name it).

    - Editors change the description and order of unprotected environments; publishers
      of any, and every change to a protected environment needs a reason.
    - Protecting or unprotecting one is for publishers, with a reason: unprotecting lets
      editors release there without the release gate; protecting locks them out."""
    environment = _environment_locked(environment)
    require(actor, ENVIRONMENT_CHANGE, environment)
    revision_check(
        base=base_revision,
        current=settings_revision(environment),
        what=f"{environment.name}'s settings",
        extra={
            "now": {f: getattr(environment, f) for f in ENVIRONMENT_FIELDS},
            "updated_at": environment.updated_at.isoformat(),
        },
    )
    protected = bool(protected)
    if protected != environment.protected:
        require(actor, ENVIRONMENT_CHANGE, Environment(name=environment.name, protected=True))
        reason = _require_reason(
            environment,
            reason,
            why=(
                f"{'Unprotecting' if environment.protected else 'Protecting'} {environment.name} needs a reason."
            ),
        )
    elif environment.protected:
        reason = _require_reason(environment, reason)
    before = {f: getattr(environment, f) for f in ENVIRONMENT_FIELDS}
    environment.protected, environment.position = protected, position
    environment.description = (description or "").strip() if isinstance(description, str) else description
    try:
        environment.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise _validation_error(exc, "The environment's settings are not valid.") from None
    after = {f: getattr(environment, f) for f in ENVIRONMENT_FIELDS}
    changed = [f for f in ENVIRONMENT_FIELDS if before[f] != after[f]]
    if not changed:
        raise InvalidInput(f"Nothing changed: {environment.name} already has these settings.")
    environment.save()
    audit_record(
        actor=actor,
        action="environment.updated",
        object_type="environment",
        object_id=environment.pk,
        object_repr=environment.name,
        environment=environment.name,
        reason=reason or "",
        diff={"before": {f: before[f] for f in changed}, "after": {f: after[f] for f in changed}},
    )
    return environment
