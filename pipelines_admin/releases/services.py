"""Writes to what an environment runs: releases, overrides, stage and rule toggles,
rollbacks. Each goes through the release gate (testcases.gate) on a protected
environment, and records an audit event in the same transaction as the release.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from pipelines_admin.accounts.permissions import ENVIRONMENT_CHANGE, require
from pipelines_admin.audit.services import audit_record
from pipelines_admin.configs.change_control import (
    ChangeAuthority,
    require_change_authority,
    require_gate_override_authority,
)
from pipelines_admin.configs.diffs import semantic_diff
from pipelines_admin.configs.engine import config_dependents, config_stage_rule_ids, document_hash
from pipelines_admin.configs.models import ConfigVersion, Environment, Pipeline, Release
from pipelines_admin.configs.overrides import apply_override, override_between, set_at
from pipelines_admin.configs.selectors import environment_revision, release_live, release_of_revision
from pipelines_admin.configs.services import (
    environment_locked,
    pipeline_locked,
    require_reason,
    require_valid,
)
from pipelines_admin.core.errors import Conflict, InvalidInput, NotFound
from pipelines_admin.core.revisions import MISSING, revision_check
from pipelines_admin.testcases.gate import gate_enforce
from pipelines_admin.webhooks.events import RELEASE_CREATED, RELEASE_GATE_OVERRIDDEN, RELEASE_ROLLED_BACK
from pipelines_admin.webhooks.services import event_publish


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
    authority: ChangeAuthority | None = None,
) -> Release:
    """Every change to what an environment runs comes here. A protected environment also
    needs the release gate open (see testcases.gate) or overridden with the reason.
    With `base_revision` (what the editor saw, see selectors.environment_revision), a
    change made since is a Stale error saying what it changed.

    On an environment under change control, and for any override of the gate, it needs
    `authority` (configs.change_control): only pipelines_admin.changes gives one."""
    require(actor, ENVIRONMENT_CHANGE, environment)
    require_change_authority(environment, authority, f"this {Release.Kind(kind).label}")
    require_gate_override_authority(environment, authority, gate_override)
    reason = require_reason(environment, reason) if environment.protected else (reason or "").strip()
    if version.pipeline_id != pipeline.pk:
        raise NotFound(f"Version {version.number} does not belong to {pipeline.slug}.")
    if not isinstance(override, dict):
        raise InvalidInput(
            "An override must be a JSON object (a merge patch).",
            {"problems": [{"path": "", "message": "expected an object"}]},
        )
    pipeline = pipeline_locked(pipeline)
    environment = environment_locked(environment)  # its bindings stay as validated until this commits
    previous = release_live(pipeline, environment)
    _check_base(pipeline, environment, previous, base_revision)
    effective = apply_override(version.document, override)
    require_valid(
        effective, environment, what=f"The effective config for {environment.name}", pipeline=pipeline
    )
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
        data={
            "effective_hash": effective_hash,
            "kind": kind,
            "gate": gate,
            **({"authority": authority.as_dict()} if authority else {}),
            **(audit_data or {}),
        },
    )
    event_publish(
        event=RELEASE_ROLLED_BACK if kind == Release.Kind.ROLLBACK else RELEASE_CREATED,
        pipeline=pipeline,
        environment=environment,
        data={
            "release": release.pk,
            "kind": kind,
            "version": version.number,
            "previous_version": previous.version.number if previous else None,
            "effective_hash": effective_hash,
            "released_by": actor.get_username(),
            "gate": gate["result"],
            "change_request": authority.request_id if authority else None,
            "break_glass": bool(authority and authority.kind == "break_glass"),
        },
    )
    if gate["result"] == "overridden":
        event_publish(
            event=RELEASE_GATE_OVERRIDDEN,
            pipeline=pipeline,
            environment=environment,
            data={
                "release": release.pk,
                "effective_hash": effective_hash,
                "why_closed": gate["why_closed"],
                "released_by": actor.get_username(),
                "approvers": list(authority.approvers) if authority else [],
                "change_request": authority.request_id if authority else None,
            },
        )
        audit_record(
            actor=actor,
            action="release_gate.overridden",
            object_type="release",
            object_id=release.pk,
            object_repr=str(release),
            pipeline=pipeline.slug,
            environment=environment.name,
            reason=reason,
            data={
                "effective_hash": effective_hash,
                "why_closed": gate["why_closed"],
                **({"authority": authority.as_dict()} if authority else {}),
            },
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
    authority: ChangeAuthority | None = None,
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
        authority=authority,
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
    authority: ChangeAuthority | None = None,
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
        authority=authority,
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
    authority: ChangeAuthority | None,
):
    """Turn a stage (rule None) or a rule on or off. Turning something off that enabled
    rules depend on, directly or through other rules, is refused with the list of them
    (DependentsEnabled) unless `disable_dependents` turns them off too, in the same
    release; the audit event names every rule turned off."""
    require(actor, ENVIRONMENT_CHANGE, environment)  # before saying anything about the consequences
    _check_base(pipeline, environment, release_live(pipeline, environment), base_revision)
    live, override, dependents = toggle_plan(
        pipeline=pipeline,
        environment=environment,
        stage=stage,
        rule=rule,
        enabled=enabled,
        disable_dependents=disable_dependents,
    )
    release = _release(
        pipeline=pipeline,
        environment=environment,
        version=live.version,
        override=override,
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
        authority=authority,
    )
    release.disabled_dependents = dependents  # for the caller's message; the audit event keeps them
    return release


def toggle_plan(
    *,
    pipeline: Pipeline,
    environment: Environment,
    stage: str,
    rule: str | None,
    enabled: bool,
    disable_dependents: bool,
) -> tuple[Release, dict, list[dict]]:
    """What a toggle would release: the live release, the new override over its version
    and the dependents turned off with it. Refused when there is nothing to toggle, it
    already is so, or (without `disable_dependents`) enabled rules depend on it."""
    live = _live_or_404(pipeline, environment)
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
    return live, override_between(live.version.document, changed), dependents


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
    authority: ChangeAuthority | None = None,
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
        authority=authority,
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
    authority: ChangeAuthority | None = None,
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
        authority=authority,
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
    authority: ChangeAuthority | None = None,
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
        authority=authority,
    )
