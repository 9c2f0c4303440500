"""Pipelines kept as files (config as code): import one file, export a version or an
environment's effective config, release from the command line.

Every write goes through configs.services, as the console's do: the same role checks,
validation, audit events and release gate.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from pipelines_admin.accounts.permissions import ENVIRONMENT_CHANGE, VERSION_CREATE, require
from pipelines_admin.configs.engine import document_hash, document_load, document_problems
from pipelines_admin.configs.models import ConfigVersion, Environment, Pipeline, Release
from pipelines_admin.configs.selectors import (effective_config, environment_get, pipeline_get, release_live,
                                               version_get, version_latest)
from pipelines_admin.configs.services import config_version_create, pipeline_create, release_create
from pipelines_admin.core.errors import InvalidInput, NotFound
from pipelines_admin.testcases.gate import GateClosed, GateState, gate_state

FORMATS = ("yaml", "json")

# -- one document ----------------------------------------------------------------------


class _YamlDumper(yaml.SafeDumper):
    """PyYAML writes NEL and the Unicode line and paragraph separators raw in quoted
    text, where reading folds them into a space: such text is written double-quoted,
    where they are escaped."""


def _represent_str(dumper: yaml.SafeDumper, value: str):
    style = '"' if any(c in value for c in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_YamlDumper.add_representer(str, _represent_str)


def document_text(document: Any, fmt: str) -> str:
    """The document as YAML or JSON text, keys in the document's own order (stages run
    in document order), non-ASCII text as it is. Reading it back gives the same hash."""
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        return yaml.dump(document, Dumper=_YamlDumper, sort_keys=False, allow_unicode=True,
                         default_flow_style=False, width=100_000)
    raise InvalidInput(f"Unknown format {fmt!r}: choose yaml or json.", {"fields": {"format": [f"one of {FORMATS}"]}})


def format_for(path: str | Path | None, fmt: str | None) -> str:
    """The format to write: the one asked for, else the file's own (.json, else YAML).
    Refused when they disagree: the file would be read back by its extension."""
    suffix = Path(path).suffix.lower() if path else ""
    implied = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(suffix)
    if fmt is not None and fmt not in FORMATS:
        raise InvalidInput(f"Unknown format {fmt!r}: choose yaml or json.")
    if path and implied is None:
        raise InvalidInput(f"{path}: a pipeline file ends in .yaml, .yml or .json.")
    if fmt and implied and fmt != implied:
        raise InvalidInput(f"{path} would be read back as {implied}, not {fmt}: name it by its format.")
    return fmt or implied or "yaml"


def document_read(path: str | Path) -> tuple[Any, list[dict]]:
    """The document in a file and every problem with it, each {"path", "message"} (a
    JSON pointer, "" for the whole file); the document is None when it cannot be read."""
    try:
        document = document_load(path)
    except InvalidInput as exc:
        return None, exc.extra["problems"]
    return document, document_problems(document)


@dataclass(frozen=True)
class Exported:
    pipeline: Pipeline
    version: ConfigVersion
    document: dict
    environment: Environment | None = None

    @property
    def label(self) -> str:
        label = f"{self.pipeline.slug} v{self.version.number}"
        return f"{label} as {self.environment.name} runs it" if self.environment else label


def pipeline_export(*, slug: str, version: int | None = None, environment: str | None = None) -> Exported:
    """The latest version of a pipeline, one version, or what an environment runs (its
    live version with its override applied)."""
    if version is not None and environment is not None:
        raise InvalidInput("Choose a version or an environment, not both.")
    pipeline = pipeline_get(slug)
    if environment is not None:
        effective = effective_config(pipeline, environment_get(environment))
        return Exported(pipeline, effective.version, effective.document, effective.environment)
    chosen = version_get(pipeline, version) if version is not None else version_latest(pipeline)
    if chosen is None:
        raise NotFound(f"{slug} has no versions.", {"pipeline": slug})
    return Exported(pipeline, chosen, chosen.document)


@dataclass(frozen=True)
class Imported:
    pipeline: Pipeline
    version: ConfigVersion
    outcome: str  # "new" (the pipeline was created), "changed" (a new version) or "unchanged"
    previous: int | None = None  # the latest version before


NEW, CHANGED, UNCHANGED = "new", "changed", "unchanged"


def _require_valid(document: Any, what: str = "The config") -> None:
    problems = document_problems(document)
    if problems:
        raise InvalidInput(f"{what} has {len(problems)} problem{'s' if len(problems) != 1 else ''}.",
                           {"problems": problems})


@transaction.atomic
def pipeline_import(*, slug: str, document: Any, author, message: str = "", name: str = "") -> Imported:
    """Create the pipeline with `document` as version 1, or save `document` on top of
    its latest version, unless that version holds the same content (same hash)."""
    require(author, VERSION_CREATE)
    _require_valid(document)
    pipeline = Pipeline.objects.filter(slug=slug).first()
    if pipeline is None:
        doc_name = document.get("name") if isinstance(document.get("name"), str) else ""
        pipeline = pipeline_create(slug=slug, name=(name or doc_name or slug).strip(), document=document,
                                   author=author, message=message or "First version")
        return Imported(pipeline, version_latest(pipeline), NEW)
    latest = version_latest(pipeline)
    if latest is not None and latest.content_hash == document_hash(document):
        return Imported(pipeline, latest, UNCHANGED, latest.number)
    version = config_version_create(pipeline=pipeline, document=document, base_version=latest, author=author,
                                    message=message or "Imported")
    return Imported(pipeline, version, CHANGED, latest.number if latest else None)


@dataclass(frozen=True)
class Released:
    release: Release
    already: bool  # the environment ran this version already: nothing was released
    gate: GateState


def pipeline_release(*, slug: str, environment: str, actor, version: int | None = None, reason: str = "",
                     gate_override: bool = False) -> Released:
    """Release a version (the latest by default) through release_create: the role,
    protection and gate checks of the console. Releasing what already runs there does
    nothing (after the role check)."""
    pipeline = pipeline_get(slug)
    env = environment_get(environment)
    chosen = version_get(pipeline, version) if version is not None else version_latest(pipeline)
    if chosen is None:
        raise NotFound(f"{slug} has no versions.", {"pipeline": slug})
    require(actor, ENVIRONMENT_CHANGE, env)
    live = release_live(pipeline, env)
    if live is not None and live.version_id == chosen.pk:
        return Released(live, True, gate_state(pipeline, env, live.effective_hash))
    try:
        release = release_create(pipeline=pipeline, environment=env, version=chosen, actor=actor, reason=reason,
                                 gate_override=gate_override)
    except GateClosed as exc:
        exc.extra["version"] = chosen.number  # to say which version to run the test cases on
        raise
    return Released(release, False, gate_state(pipeline, env, release.effective_hash))
