"""Writes to pipelines, versions, environments and service bindings (releases, overrides
and toggles are releases.services).

Every function checks the actor's role, validates with rules_engine, and records an
audit event in the same transaction as the change it makes.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from pipelines_admin.accounts.permissions import ENVIRONMENT_CHANGE, VERSION_CREATE, require
from pipelines_admin.audit.services import audit_record
from pipelines_admin.configs.change_control import ChangeAuthority, require_change_authority
from pipelines_admin.configs.diffs import semantic_diff, text_diff
from pipelines_admin.configs.engine import binding_problems, document_hash, document_problems
from pipelines_admin.configs.models import ConfigVersion, Environment, Pipeline, ServiceBinding
from pipelines_admin.configs.overrides import apply_override
from pipelines_admin.configs.selectors import environment_live_releases, settings_revision, version_latest
from pipelines_admin.core.errors import Conflict, InvalidInput, NotFound
from pipelines_admin.core.revisions import revision_check


def require_valid(
    document: Any,
    environment: Environment | None = None,
    what: str = "The config",
    pipeline: Pipeline | None = None,
) -> None:
    problems = document_problems(document, environment, pipeline=pipeline)
    if problems:
        raise InvalidInput(
            f"{what} has {len(problems)} problem{'s' if len(problems) != 1 else ''}.", {"problems": problems}
        )


def pipeline_locked(pipeline: Pipeline) -> Pipeline:
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
    require_valid(document, pipeline=pipeline)
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
    limit = ConfigVersion._meta.get_field("message").max_length or 0
    if len(message) > limit:
        raise InvalidInput(
            f"A version's message is at most {limit} characters; this one has {len(message)}.",
            {"fields": {"message": [f"at most {limit} characters"]}},
        )
    pipeline = pipeline_locked(pipeline)
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
    require_valid(document, pipeline=pipeline)
    if latest is not None and document_hash(document) == latest.content_hash:
        raise InvalidInput(f"Nothing changed: the document is the same as version {latest.number}.")
    return _version_save(pipeline=pipeline, document=document, parent=latest, author=author, message=message)


# -- environments and their service bindings ----------------------------------------------

BINDING_FIELDS = ("kind", "url", "timeout_seconds", "retries", "secret_env", "latency_ms", "failure_rate")
ENVIRONMENT_FIELDS = (
    "protected",
    "position",
    "description",
    "change_requests_required",
    "approvals_required",
)
#: the settings that say who may change an environment, and how
ENVIRONMENT_POLICY_FIELDS = ("protected", "change_requests_required", "approvals_required")


def environment_settings(environment: Environment) -> dict:
    """An environment's settings, as environment_update takes them."""
    return {f: getattr(environment, f) for f in ENVIRONMENT_FIELDS}


def environment_locked(environment: Environment) -> Environment:
    """Lock the environment row: its settings, its bindings and what is released to it
    change one at a time (NO KEY UPDATE: runs and batches referencing it are not held up)."""
    try:
        return Environment.objects.select_for_update(no_key=True).get(pk=environment.pk)
    except Environment.DoesNotExist:
        raise NotFound(
            f"There is no environment {environment.name!r}.", {"environment": environment.name}
        ) from None


def require_reason(environment: Environment, reason: str, why: str = "") -> str:
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
    failures: list[dict[str, Any]] = []
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
        extra={"now": binding_values(binding), "updated_at": binding.updated_at.isoformat()},
    )


def binding_values(binding: ServiceBinding | None) -> dict:
    """A binding's settings ({} for none): what its audit events and change requests compare."""
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
    authority: ChangeAuthority | None = None,
    **values,
) -> ServiceBinding:
    """Create or change how `environment` reaches service:interface:name. Only the
    settings of its kind are kept (a simulated binding has no URL; an HTTP one no
    simulated latency); the others go back to their defaults. The effective config of
    every pipeline live there is validated with the new bindings first.

    `expect`: "new" refuses to change an existing binding (Conflict), "existing" to create
    one (NotFound); None does either. The returned binding's `changed` is False when it
    already was exactly so (nothing is written then). `base_revision`: the binding's
    revision the change is based on (Stale when it changed since). Under change control
    it needs `authority` (configs.change_control)."""
    environment = environment_locked(environment)
    require(actor, ENVIRONMENT_CHANGE, environment)
    require_change_authority(environment, authority, f"changing the binding of service:{interface}:{name}")
    if environment.protected:
        reason = require_reason(environment, reason)
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
    before = binding_values(binding)
    binding = binding or ServiceBinding(environment=environment, interface=interface, name=name)
    for field, value in values.items():
        setattr(binding, field, value)
    kept = ServiceBinding.KIND_FIELDS.get(binding.kind) if isinstance(binding.kind, str) else None
    for field in BINDING_FIELDS[1:]:
        if kept is not None and field not in kept:
            setattr(binding, field, ServiceBinding.field_default(field))
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
    after = binding_values(binding)
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
    authority: ChangeAuthority | None = None,
) -> None:
    """Remove a binding: the rules calling service:interface:name get the simulated
    adapter again. Refused like a change when a live config would become invalid."""
    environment = environment_locked(environment)
    require(actor, ENVIRONMENT_CHANGE, environment)
    require_change_authority(environment, authority, f"removing the binding of service:{interface}:{name}")
    if environment.protected:
        reason = require_reason(environment, reason)
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
    before, binding_id = binding_values(binding), binding.pk
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
    change_requests_required: bool | None = None,
    approvals_required: int | None = None,
    authority: ChangeAuthority | None = None,
) -> Environment:
    """Change an environment's settings (its name never changes: runs, releases and audit
    events name it).

    - Editors change the description and order of unprotected environments; publishers
      of any, and every change to a protected environment needs a reason.
    - Protecting or unprotecting one is for publishers, with a reason: unprotecting lets
      editors release there without the release gate; protecting locks them out.
    - Change control (`change_requests_required`, `approvals_required`; None keeps what
      is set) is a publisher's setting too. On an environment under change control,
      every change to its settings is itself a change request (`authority`)."""
    environment = environment_locked(environment)
    require(actor, ENVIRONMENT_CHANGE, environment)
    require_change_authority(environment, authority, "changing its settings")
    revision_check(
        base=base_revision,
        current=settings_revision(environment),
        what=f"{environment.name}'s settings",
        extra={
            "now": environment_settings(environment),
            "updated_at": environment.updated_at.isoformat(),
        },
    )
    protected = bool(protected)
    change_requests_required = (
        environment.change_requests_required
        if change_requests_required is None
        else bool(change_requests_required)
    )
    approvals_required = environment.approvals_required if approvals_required is None else approvals_required
    if (
        change_requests_required != environment.change_requests_required
        or approvals_required != environment.approvals_required
    ):
        require(actor, ENVIRONMENT_CHANGE, Environment(name=environment.name, protected=True))
        reason = require_reason(
            environment, reason, why=f"Changing {environment.name}'s change control needs a reason."
        )
    if protected != environment.protected:
        require(actor, ENVIRONMENT_CHANGE, Environment(name=environment.name, protected=True))
        reason = require_reason(
            environment,
            reason,
            why=(
                f"{'Unprotecting' if environment.protected else 'Protecting'} {environment.name} needs a reason."
            ),
        )
    elif environment.protected:
        reason = require_reason(environment, reason)
    before = environment_settings(environment)
    environment.protected, environment.position = protected, position
    environment.change_requests_required = change_requests_required
    environment.approvals_required = approvals_required
    environment.description = (description or "").strip() if isinstance(description, str) else description
    try:
        environment.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise _validation_error(exc, "The environment's settings are not valid.") from None
    after = environment_settings(environment)
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
