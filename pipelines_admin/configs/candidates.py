"""A config that could run in an environment: a version with an override.

Suite runs test one, impact analysis compares one with what is live. Named as a user
would: "live in production (v3)", "v4 with production's override", "v3 with a
proposed override of production". The name describes what is live now, so it is made
each time it is shown (config_label), never stored: a suite run or a report keeps the
facts (environment, version, override, effective hash).
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
    live: Release | None

    @property
    def is_live(self) -> bool:
        return self.live is not None and self.live.effective_hash == self.effective_hash

    @property
    def label(self) -> str:
        return config_label(
            self.environment, self.version.number, self.override, self.effective_hash, self.live
        )


def config_label(
    environment: Environment, version_number: int, override: dict, effective_hash: str, live: Release | None
) -> str:
    """`version_number` with `override` in `environment`, in words, against `live` (what
    runs there now, None when the pipeline has not been released there)."""
    name, v = environment.name, f"v{version_number}"
    if live is not None and live.effective_hash == effective_hash:
        return f"live in {name} ({v})"
    if live is None:
        return (
            f"{v} with a proposed override of {name}" if override else f"{v} in {name}"
        ) + " (not released there)"
    if override == live.override:
        return f"{v} with {name}'s override" if override else f"{v} in {name}"
    return f"{v} with a proposed override of {name}" if override else f"{v} in {name} without its override"


def candidate_resolve(
    pipeline: Pipeline,
    environment: Environment,
    *,
    version: ConfigVersion | None = None,
    override: dict | None = None,
) -> Candidate:
    """The config `environment` would run with `version` (default: its live version) and
    `override` (default: its live override), validated against its service bindings."""
    live = release_live(pipeline, environment)
    if version is None:
        if live is None:
            raise NotFound(
                f"{pipeline.slug} has not been released to {environment.name}: pick a version.",
                {"pipeline": pipeline.slug, "environment": environment.name},
            )
        version = live.version
    if version.pipeline_id != pipeline.pk:
        raise NotFound(f"Version {version.number} does not belong to {pipeline.slug}.")
    if override is None:
        override = live.override if live else {}
    if not isinstance(override, dict):
        raise InvalidInput(
            "An override must be a JSON object (a merge patch).",
            {"problems": [{"path": "", "message": "expected an object"}]},
        )
    document = apply_override(version.document, override)
    problems = document_problems(document, environment)
    if problems:
        raise InvalidInput(
            f"That config is not valid in {environment.name}: {len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}.",
            {"problems": problems},
        )
    return Candidate(pipeline, environment, version, override, document, document_hash(document), live)
