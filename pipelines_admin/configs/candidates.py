"""A config that could run in an environment: a version with an override.

Suite runs test one, impact analysis compares one with what is live. Named as a user
would: "live in production (v3)", "v4 with production's override", "v3 with a
proposed override of production".
"""
from __future__ import annotations

from dataclasses import dataclass

from pipelines_admin.configs.engine import document_hash, document_problems
from pipelines_admin.configs.models import ConfigVersion, Environment, Pipeline, Release
from pipelines_admin.configs.overrides import apply_override
from pipelines_admin.configs.selectors import release_live
from pipelines_admin.core.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class Candidate:
    pipeline: Pipeline
    environment: Environment
    version: ConfigVersion
    override: dict
    document: dict
    effective_hash: str
    label: str
    live: Release | None

    @property
    def is_live(self) -> bool:
        return self.live is not None and self.live.effective_hash == self.effective_hash


def candidate_resolve(pipeline: Pipeline, environment: Environment, *, version: ConfigVersion | None = None,
                      override: dict | None = None) -> Candidate:
    """The config `environment` would run with `version` (default: its live version) and
    `override` (default: its live override), validated against its service bindings."""
    live = release_live(pipeline, environment)
    if version is None:
        if live is None:
            raise NotFound(f"{pipeline.slug} has not been released to {environment.name}: pick a version.",
                           {"pipeline": pipeline.slug, "environment": environment.name})
        version = live.version
    if version.pipeline_id != pipeline.pk:
        raise NotFound(f"Version {version.number} does not belong to {pipeline.slug}.")
    proposed = override is not None
    if override is None:
        override = live.override if live else {}
    if not isinstance(override, dict):
        raise InvalidInput("An override must be a JSON object (a merge patch).",
                           {"problems": [{"path": "", "message": "expected an object"}]})
    document = apply_override(version.document, override)
    problems = document_problems(document, environment)
    if problems:
        raise InvalidInput(f"That config is not valid in {environment.name}: {len(problems)} problem"
                           f"{'s' if len(problems) != 1 else ''}.", {"problems": problems})
    effective_hash = document_hash(document)
    if live is not None and live.effective_hash == effective_hash:
        label = f"live in {environment.name} (v{version.number})"
    elif proposed:
        label = f"v{version.number} with a proposed override of {environment.name}"
    elif live is not None:
        label = f"v{version.number} with {environment.name}'s override" if override else \
            f"v{version.number} in {environment.name}"
    else:
        label = f"v{version.number} in {environment.name} (not released there)"
    return Candidate(pipeline, environment, version, override, document, effective_hash, label, live)
