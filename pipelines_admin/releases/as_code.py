"""Pipelines kept as files (config as code): import one file, export a version or an
environment's effective config, release from the command line, and plan or apply a
folder holding one file per pipeline, named by its slug (customer-onboarding.yaml).

Every write goes through configs.services, as the console's do: the same role checks,
validation and audit events. A release goes through the front door the caller passes as
`submit` (changes.services.change_submit, which lives above this layer): it applies
through releases.services with the release gate, or opens a change request where the
environment is under change control or the gate is to be overridden.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from pipelines_admin.accounts.permissions import ENVIRONMENT_CHANGE, VERSION_CREATE, require
from pipelines_admin.configs.diffs import semantic_diff
from pipelines_admin.configs.engine import DOCUMENT_SUFFIXES, document_hash, document_load, document_problems
from pipelines_admin.configs.models import ConfigVersion, Environment, Pipeline, Release
from pipelines_admin.configs.selectors import (
    effective_config,
    environment_get,
    pipeline_get,
    release_live,
    version_get,
    version_latest,
)
from pipelines_admin.configs.services import config_version_create, pipeline_create
from pipelines_admin.core.errors import InvalidInput, NotFound
from pipelines_admin.testcases.gate import GateClosed, GateState, gate_state

FORMATS = ("yaml", "json")


class Submit(Protocol):
    """changes.services.change_submit: applies a change or opens a change request, and
    answers with what it did (`.applied`, `.change_request`)."""

    def __call__(
        self,
        *,
        kind: str,
        environment: Environment,
        actor: Any,
        pipeline: Pipeline | None = None,
        reason: str = "",
        gate_override: bool = False,
        base_revision: str | None = None,
        **payload: Any,
    ) -> Any: ...


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
        return yaml.dump(
            document,
            Dumper=_YamlDumper,
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=100_000,
        )
    raise InvalidInput(
        f"Unknown format {fmt!r}: choose yaml or json.", {"fields": {"format": [f"one of {FORMATS}"]}}
    )


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


NEW, CHANGED, UNCHANGED, INVALID, NOT_IN_FOLDER = (
    "new",
    "changed",
    "unchanged",
    "invalid",
    "not in the folder",
)


def _require_valid(document: Any, what: str = "The config") -> None:
    problems = document_problems(document)
    if problems:
        raise InvalidInput(
            f"{what} has {len(problems)} problem{'s' if len(problems) != 1 else ''}.", {"problems": problems}
        )


@transaction.atomic
def pipeline_import(*, slug: str, document: Any, author, message: str = "", name: str = "") -> Imported:
    """Create the pipeline with `document` as version 1, or save `document` on top of
    its latest version, unless that version holds the same content (same hash)."""
    require(author, VERSION_CREATE)
    _require_valid(document)
    pipeline = Pipeline.objects.filter(slug=slug).first()
    if pipeline is None:
        doc_name = document.get("name") if isinstance(document.get("name"), str) else ""
        pipeline = pipeline_create(
            slug=slug,
            name=(name or doc_name or slug).strip(),
            document=document,
            author=author,
            message=message or "First version",
        )
        return Imported(pipeline, pipeline.versions.get(), NEW)
    latest = version_latest(pipeline)
    if latest is not None and latest.content_hash == document_hash(document):
        return Imported(pipeline, latest, UNCHANGED, latest.number)
    version = config_version_create(
        pipeline=pipeline,
        document=document,
        base_version=latest,
        author=author,
        message=message or "Imported",
    )
    return Imported(pipeline, version, CHANGED, latest.number if latest else None)


@dataclass(frozen=True)
class Released:
    release: Release | None  # None when a change request was opened instead
    already: bool  # the environment ran this version already: nothing was released
    gate: GateState
    change_request: Any = None  # the change request opened (changes.models.ChangeRequest)


def pipeline_release(
    *,
    slug: str,
    environment: str,
    actor,
    version: int | None = None,
    submit: Submit,
    reason: str = "",
    gate_override: bool = False,
) -> Released:
    """Release a version (the latest by default) through `submit` (change_submit): the
    role, protection and gate checks of the console, and a change request where the
    environment is under change control or the gate is to be overridden. Releasing what
    already runs there does nothing (after the role check)."""
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
        submitted = submit(
            kind="release",
            pipeline=pipeline,
            environment=env,
            actor=actor,
            reason=reason,
            gate_override=gate_override,
            version=chosen.number,
        )
    except GateClosed as exc:
        exc.extra["version"] = chosen.number  # to say which version to run the test cases on
        raise
    if submitted.change_request is not None:
        request = submitted.change_request
        return Released(
            None, False, gate_state(pipeline, env, request.effective_hash), change_request=request
        )
    release = submitted.applied
    return Released(release, False, gate_state(pipeline, env, release.effective_hash))


# -- a folder of pipeline files --------------------------------------------------------


@dataclass(frozen=True)
class PlanEntry:
    slug: str
    status: str  # NEW, CHANGED, UNCHANGED, INVALID or NOT_IN_FOLDER
    file: str = ""  # its file's name in the folder
    document: Any = None
    problems: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)  # semantic_diff from the latest version (or nothing)
    latest: int | None = None  # the latest version's number in the database


@dataclass(frozen=True)
class FolderPlan:
    folder: Path
    entries: list[PlanEntry]

    def having(self, *statuses: str) -> list[PlanEntry]:
        return [e for e in self.entries if e.status in statuses]

    @property
    def invalid(self) -> list[PlanEntry]:
        return self.having(INVALID)

    @property
    def pending(self) -> list[PlanEntry]:
        """What applying would write: new pipelines and new versions."""
        return self.having(NEW, CHANGED)


def _pipeline_files(folder: Path) -> dict[str, list[Path]]:
    """Slug -> its files (more than one is a problem), for each .yaml, .yml or .json file
    directly in `folder`; hidden files and anything else are left alone."""
    if not folder.is_dir():
        raise NotFound(f"{folder} is not a folder.", {"folder": str(folder)})
    files: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.name.lower().endswith(DOCUMENT_SUFFIXES) or path.is_dir():
            continue
        files.setdefault(path.name[: path.name.rindex(".")], []).append(path)
    return files


def _slug_problem(slug: str) -> str | None:
    try:
        validate_slug(slug)
    except ValidationError:
        return "the file's name must be the pipeline's slug: letters, digits, hyphens and underscores"
    longest = Pipeline._meta.get_field("slug").max_length or 0
    if len(slug) > longest:
        return f"a slug has at most {longest} characters"
    return None


def folder_plan(folder: str | Path) -> FolderPlan:
    """What applying the folder would do, pipeline by pipeline: new, changed (with the
    semantic diff from the latest version), unchanged, invalid (every problem), and the
    pipelines in the database that have no file (never deleted)."""
    folder = Path(folder)
    files = _pipeline_files(folder)
    latest = {p.slug: version_latest(p) for p in Pipeline.objects.filter(slug__in=list(files))}
    entries = []
    for slug, paths in files.items():
        names = ", ".join(p.name for p in paths)
        current = latest.get(slug)
        number = current.number if current else None
        if len(paths) > 1:
            entries.append(
                PlanEntry(
                    slug,
                    INVALID,
                    names,
                    latest=number,
                    problems=[{"path": "", "message": f"one pipeline, several files ({names}): keep one"}],
                )
            )
            continue
        slug_problem = _slug_problem(slug)
        if slug_problem:
            entries.append(PlanEntry(slug, INVALID, names, problems=[{"path": "", "message": slug_problem}]))
            continue
        document, problems = document_read(paths[0])
        if problems:
            entries.append(PlanEntry(slug, INVALID, names, document, problems, latest=number))
        elif current is None:
            entries.append(PlanEntry(slug, NEW, names, document, changes=semantic_diff({}, document)))
        elif current.content_hash == document_hash(document):
            entries.append(PlanEntry(slug, UNCHANGED, names, document, latest=number))
        else:
            entries.append(
                PlanEntry(
                    slug,
                    CHANGED,
                    names,
                    document,
                    latest=number,
                    changes=semantic_diff(current.document, document),
                )
            )
    for pipeline in Pipeline.objects.exclude(slug__in=list(files)).order_by("slug"):
        current = version_latest(pipeline)
        entries.append(PlanEntry(pipeline.slug, NOT_IN_FOLDER, latest=current.number if current else None))
    return FolderPlan(folder, entries)


class FolderInvalid(InvalidInput):
    """Some file of the folder is invalid: nothing was applied."""

    def __init__(self, plan: FolderPlan):
        count = len(plan.invalid)
        super().__init__(
            f"{count} file{'s are' if count != 1 else ' is'} invalid: nothing was stored.",
            {"files": [{"file": e.file, "problems": e.problems} for e in plan.invalid]},
        )
        self.plan = plan


@dataclass(frozen=True)
class AppliedEntry:
    entry: PlanEntry
    version: ConfigVersion | None = None  # the version made (new and changed pipelines)
    release: Release | None = None
    change_request: Any = None  # opened instead of the release (changes.models.ChangeRequest)


@dataclass(frozen=True)
class FolderApplied:
    plan: FolderPlan
    applied: list[AppliedEntry]
    environment: Environment | None = None


@transaction.atomic
def folder_apply(
    *,
    folder: str | Path,
    author,
    message: str = "",
    release_to: str | None = None,
    reason: str = "",
    gate_override: bool = False,
    submit: Submit | None = None,
) -> FolderApplied:
    """Make the versions the plan shows, all or nothing: any invalid file, refused role,
    conflict or refused release (with `release_to`: each new or changed pipeline is
    released there through `submit`, change_submit: the gate, or a change request where
    the environment is under change control) leaves the database as it was."""
    if release_to and submit is None:
        raise ValueError("Releasing goes through the front door: pass submit=change_submit.")
    require(author, VERSION_CREATE)
    environment = environment_get(release_to) if release_to else None
    if environment is not None:
        require(author, ENVIRONMENT_CHANGE, environment)
    plan = folder_plan(folder)
    if plan.invalid:
        raise FolderInvalid(plan)
    applied = []
    for entry in plan.entries:
        if entry.status not in (NEW, CHANGED):
            applied.append(AppliedEntry(entry))
            continue
        imported = pipeline_import(
            slug=entry.slug,
            document=entry.document,
            author=author,
            message=message or f"Applied from {entry.file}",
        )
        release = request = None
        if environment is not None and submit is not None:
            submitted = submit(
                kind="release",
                pipeline=imported.pipeline,
                environment=environment,
                actor=author,
                reason=reason,
                gate_override=gate_override,
                version=imported.version.number,
            )
            release, request = submitted.applied, submitted.change_request
        applied.append(AppliedEntry(entry, imported.version, release, request))
    return FolderApplied(plan, applied, environment)


def plan_lines(plan: FolderPlan) -> list[str]:
    """The plan as readable lines: each pipeline, what applying does to it and why."""
    lines = []
    for e in plan.entries:
        if e.status == NEW:
            lines.append(f"{e.file}: new pipeline {e.slug} (applying makes v1)")
        elif e.status == CHANGED:
            lines.append(
                f"{e.file}: changed (v{e.latest} in the database; applying makes v{(e.latest or 0) + 1})"
            )
        elif e.status == UNCHANGED:
            lines.append(f"{e.file}: unchanged (v{e.latest})")
        elif e.status == INVALID:
            count = len(e.problems)
            lines.append(f"{e.file}: invalid, {count} problem{'s' if count != 1 else ''}")
            lines.extend(f"    {p['path'] or '(config)'}: {p['message']}" for p in e.problems)
        else:
            latest = f"v{e.latest} in the database" if e.latest else "no versions"
            lines.append(f"{e.slug}: not in the folder ({latest}; it stays)")
        lines.extend(f"    {c['summary']}" for c in e.changes)
        if e.status == CHANGED and not e.changes:
            lines.append(
                "    No value changed: only the order of keys, or how a number is written, differs "
                "(stages run in document order)."
            )
    counts = [(len(plan.having(s)), s) for s in (NEW, CHANGED, UNCHANGED, INVALID, NOT_IN_FOLDER)]
    summary = ", ".join(f"{n} {s}" for n, s in counts if n)
    lines.append(f"Plan: {summary or f'no pipeline files in {plan.folder}'}.")
    return lines
