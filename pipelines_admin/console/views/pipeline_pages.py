"""A pipeline's pages: overview (dependency graph and environment matrix with toggles),
versions (history, diffs, releases) and environments (effective config, override
editor, release history with rollbacks, comparison of two environments).

Every change goes through pipelines_admin.changes.services.change_submit: it applies
the change through releases.services (which checks the user's role), or opens a change
request where the environment is under change control or the release gate is to be
overridden. The permission checks here only decide what to offer."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pipelines_admin.accounts.permissions import ENVIRONMENT_CHANGE, RUN_SUBMIT, VERSION_CREATE, can
from pipelines_admin.changes.services import change_submit
from pipelines_admin.configs.candidates import candidate_resolve
from pipelines_admin.configs.graph import annotated_lines, pipeline_graph, toggle_matrix
from pipelines_admin.configs.models import Environment, Pipeline, Release
from pipelines_admin.configs.selectors import (
    effective_config,
    environment_get,
    environment_list,
    environment_revision,
    environments_diff,
    live_releases,
    pipeline_get,
    release_history,
    version_get,
    version_latest,
    versions_diff,
)
from pipelines_admin.console.forms.pipeline_pages import (
    EnvironmentDiffForm,
    OverrideForm,
    ReleaseForm,
    RollbackForm,
    ToggleForm,
    VersionDiffForm,
)
from pipelines_admin.console.http import HtmxHttpRequest
from pipelines_admin.console.paging import paginate
from pipelines_admin.console.views.changes import change_opened
from pipelines_admin.core.errors import NotFound, ServiceError, Stale
from pipelines_admin.core.revisions import MISSING
from pipelines_admin.impact.selectors import impact_report_list
from pipelines_admin.impact.services import impact_start
from pipelines_admin.releases.services import DependentsEnabled
from pipelines_admin.testcases.gate import gate_state
from pipelines_admin.testcases.selectors import coverage
from pipelines_admin.testcases.services import suite_start

VERSIONS_PER_PAGE = 20
IMPACT_DEFAULT_WINDOW = 10_000
RELEASES_PER_PAGE = 15


def _effective_or_none(pipeline: Pipeline, environment: Environment):
    try:
        return effective_config(pipeline, environment)
    except NotFound:
        return None


def _form_errors(form) -> str:
    return " ".join(
        f"{'' if name == '__all__' else name + ': '}{' '.join(errors)}"
        for name, errors in form.errors.items()
    )


def _problems(exc: ServiceError) -> list[dict]:
    return exc.extra.get("problems", []) if isinstance(exc.extra, dict) else []


def _allowed_environments(user) -> list[Environment]:
    return [e for e in environment_list() if can(user, ENVIRONMENT_CHANGE, e)]


# -- overview: graph and matrix ---------------------------------------------------------


@dataclass
class MatrixColumn:
    environment: Environment
    release: Release | None
    can_change: bool
    failed_stage: str | None = None  # the toggle that just failed here, to ask again with what was typed
    failed_rule: str | None = None
    failed_reason: str = ""

    @property
    def revision(self) -> str:
        """What the matrix shows of this environment: a toggle is based on it."""
        return environment_revision(self.release)


def _matrix_context(pipeline: Pipeline, user, *, failed: dict | None = None) -> dict:
    latest = version_latest(pipeline)
    columns = []
    for environment in environment_list():
        effective = _effective_or_none(pipeline, environment)
        column = MatrixColumn(
            environment, effective.release if effective else None, can(user, ENVIRONMENT_CHANGE, environment)
        )
        if failed and failed.get("environment") == environment.name:
            column.failed_stage, column.failed_rule = failed["stage"], failed.get("rule") or None
            column.failed_reason = failed.get("reason", "")
        columns.append((column, effective.document if effective else None))
    return {
        "matrix_columns": [c for c, _ in columns],
        "matrix": toggle_matrix(latest.document if latest else {}, columns),
    }


def _graph_context(pipeline: Pipeline, user, environment_name: str) -> dict:
    latest = version_latest(pipeline)
    document, shown = (latest.document if latest else {}), None
    if environment_name:
        try:
            effective = effective_config(pipeline, environment_get(environment_name))
            document, shown = effective.document, effective
        except NotFound:
            pass  # an unknown or unreleased environment: show the latest version
    return {
        "graph": pipeline_graph(document),
        "graph_environment": shown,
        "latest": latest,
        "environments": environment_list(),
        "can_edit": can(user, VERSION_CREATE),
    }


def _detail_context(request: HtmxHttpRequest, pipeline: Pipeline, **matrix_kwargs) -> dict:
    return {
        "section": "pipelines",
        "pipeline": pipeline,
        "live": live_releases(pipeline),
        "version_count": pipeline.versions.count(),
        "coverage": coverage(pipeline),
        "can_run": can(request.user, RUN_SUBMIT),
        **_graph_context(pipeline, request.user, request.GET.get("environment", "")),
        **_matrix_context(pipeline, request.user, **matrix_kwargs),
    }


@require_GET
def pipeline_detail(request: HtmxHttpRequest, slug):
    pipeline = pipeline_get(slug)
    template = "console/pipeline_detail.html"
    if request.htmx:
        template += "#graph" if request.htmx.target == "graph" else "#matrix"
    return render(request, template, _detail_context(request, pipeline))


@require_POST
def pipeline_toggle(request: HtmxHttpRequest, slug):
    """Turn a stage or a rule on or off in one environment (a new release there)."""
    pipeline = pipeline_get(slug)
    form = ToggleForm(request.POST)
    failed, confirm, stale, error, notice, status = None, None, None, "", "", 200
    if not form.is_valid():
        error, status = f"That toggle could not be read: {_form_errors(form)}", 400
    else:
        data = form.cleaned_data
        environment, stage, rule, enabled = data["environment"], data["stage"], data["rule"], data["enabled"]
        try:
            submitted = change_submit(
                kind="toggle",
                pipeline=pipeline,
                environment=environment,
                actor=request.user,
                reason=data["reason"],
                gate_override=data["gate_override"],
                base_revision=data["base_revision"] or MISSING,
                stage=stage,
                rule=rule or None,
                enabled=enabled,
                disable_dependents=data["disable_dependents"],
            )
            if submitted.requested:
                return change_opened(request, submitted)
            release = submitted.applied
            what = f"Rule {rule} of stage {stage}" if rule else f"Stage {stage}"
            also = [f"{d['stage']}/{d['rule']}" for d in release.disabled_dependents]
            notice = (
                f"{what} turned {'on' if enabled else 'off'} in {environment.name}"
                + (f", with {', '.join(also)}" if also else "")
                + f" (release #{release.pk})."
            )
        except DependentsEnabled as exc:
            # nothing changed: ask first, naming every rule that would be turned off too
            status = exc.status
            confirm = {
                "environment": environment,
                "stage": stage,
                "rule": rule,
                "reason": data["reason"],
                "gate_override": data["gate_override"],
                "dependents": exc.dependents,
                "base_revision": data["base_revision"],
            }
        except Stale as exc:
            # someone changed the environment since the page was drawn: show what, and the matrix as it is now
            error, status, stale = exc.message, exc.status, exc.extra
        except ServiceError as exc:
            error, status = exc.message, exc.status
            failed = {"environment": environment.name, "stage": stage, "rule": rule, "reason": data["reason"]}
    if request.htmx:
        context = {
            "pipeline": pipeline,
            "error": error,
            "notice": notice,
            "confirm": confirm,
            "stale": stale,
            **_matrix_context(pipeline, request.user, failed=failed),
        }
        return render(request, "console/pipeline_detail.html#matrix", context, status=status)
    if error or confirm:
        context = {
            **_detail_context(request, pipeline, failed=failed),
            "error": error,
            "confirm": confirm,
            "stale": stale,
        }
        return render(request, "console/pipeline_detail.html", context, status=status)
    messages.success(request, notice)
    return redirect(reverse("console:pipeline-detail", kwargs={"slug": slug}) + "#matrix")


# -- versions ---------------------------------------------------------------------------


def _live_by_version(pipeline: Pipeline) -> dict[int, list[Release]]:
    by_version: dict[int, list[Release]] = {}
    for release in live_releases(pipeline).values():
        by_version.setdefault(release.version.number, []).append(release)
    for releases in by_version.values():
        releases.sort(key=lambda r: (r.environment.position, r.environment.name))
    return by_version


@require_GET
def versions(request: HtmxHttpRequest, slug):
    pipeline = pipeline_get(slug)
    page, query = paginate(
        request, pipeline.versions.select_related("author").order_by("-number"), per_page=VERSIONS_PER_PAGE
    )
    live = _live_by_version(pipeline)
    allowed = _allowed_environments(request.user)
    rows = [
        {
            "version": v,
            "live": live.get(v.number, []),
            "release_form": ReleaseForm(
                allowed=allowed,
                version=v,
                auto_id=f"release-v{v.number}-%s",
                running=[r.environment.name for r in live.get(v.number, [])],
            ),
        }
        for v in page
    ]
    latest = version_latest(pipeline)
    context = {
        "section": "pipelines",
        "pipeline": pipeline,
        "page": page,
        "query": query,
        "rows": rows,
        "latest": latest,
        "allowed": allowed,
        "gate_applies": any(e.protected for e in allowed),
        "default_a": latest.number - 1 if latest and latest.number > 1 else None,
        "default_b": latest.number if latest else None,
    }
    template = "console/versions.html#history" if request.htmx else "console/versions.html"
    return render(request, template, context)


def _release_form(request: HtmxHttpRequest, pipeline, version, data=None) -> ReleaseForm:
    running = [release.environment.name for release in _live_by_version(pipeline).get(version.number, [])]
    return ReleaseForm(data, allowed=_allowed_environments(request.user), version=version, running=running)


def _version_detail(request: HtmxHttpRequest, pipeline, version, form, *, status=200, problems=None):
    latest = version_latest(pipeline)
    context = {
        "section": "pipelines",
        "pipeline": pipeline,
        "version": version,
        "latest": latest,
        "live": _live_by_version(pipeline).get(version.number, []),
        "form": form,
        "gates": _gates(pipeline, version),
        "can_run": can(request.user, RUN_SUBMIT),
        "reports": impact_report_list(pipeline, version)[:10],
        "allowed": _allowed_environments(request.user),
        "problems": problems or [],
        "released_everywhere": "" if form.is_bound else form.everywhere_already(version),
        "graph": pipeline_graph(version.document),
        # adding rules edits the latest version: offer it on the latest version's graph only
        "can_edit": can(request.user, VERSION_CREATE) and latest is not None and latest.pk == version.pk,
        "document_json": json.dumps(version.document, indent=2, ensure_ascii=False),
    }
    return render(request, "console/version_detail.html", context, status=status)


@dataclass
class Gate:
    environment: Environment
    effective_hash: str = ""
    state: object = None
    problem: str = ""


def _gates(pipeline: Pipeline, version) -> list[Gate]:
    """The release gate of each protected environment for this version (with that environment's override)."""
    gates = []
    for environment in environment_list():
        if not environment.protected:
            continue
        try:
            candidate = candidate_resolve(pipeline, environment, version=version)
        except ServiceError as exc:
            gates.append(Gate(environment, problem=exc.message))
            continue
        gates.append(
            Gate(
                environment,
                candidate.effective_hash,
                gate_state(pipeline, environment, candidate.effective_hash),
            )
        )
    return gates


@require_GET
def version_detail(request: HtmxHttpRequest, slug, number):
    pipeline = pipeline_get(slug)
    version = version_get(pipeline, number)
    return _version_detail(request, pipeline, version, _release_form(request, pipeline, version))


@require_POST
def version_release(request: HtmxHttpRequest, slug, number):
    """Release a version to an environment (the environment keeps its override)."""
    pipeline = pipeline_get(slug)
    version = version_get(pipeline, number)
    form = _release_form(request, pipeline, version, data=request.POST)
    if not form.is_valid():
        return _version_detail(request, pipeline, version, form, status=400)
    environment = form.cleaned_data["environment"]
    try:
        submitted = change_submit(
            kind="release",
            pipeline=pipeline,
            environment=environment,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            gate_override=form.cleaned_data["gate_override"],
            version=version.number,
            override=None,  # the environment keeps its override
        )
    except ServiceError as exc:
        fields = exc.extra.get("fields", {}) if isinstance(exc.extra, dict) else {}
        form.add_error("reason" if "reason" in fields else None, exc.message)
        return _version_detail(request, pipeline, version, form, status=exc.status, problems=_problems(exc))
    if submitted.requested:
        return change_opened(request, submitted)
    release = submitted.applied
    messages.success(
        request, f"Version {version.number} released to {environment.name} (release #{release.pk})."
    )
    return redirect("console:environment-detail", slug=slug, env=environment.name)


@require_GET
def version_diff(request: HtmxHttpRequest, slug):
    """Two versions compared: ?a=N&b=M (by default the previous and the latest)."""
    pipeline = pipeline_get(slug)
    numbers = list(pipeline.versions.order_by("-number").values_list("number", flat=True))
    defaults = {
        "a": numbers[1] if len(numbers) > 1 else (numbers[0] if numbers else ""),
        "b": numbers[0] if numbers else "",
    }
    form = VersionDiffForm({k: request.GET.get(k) or defaults[k] for k in ("a", "b")})
    diff, error, status = None, "", 200
    if len(numbers) < 2 and not request.GET:
        pass  # nothing to compare yet: the page says so
    elif not form.is_valid():
        error, status = "Pick two version numbers to compare.", 400
    else:
        try:
            before = version_get(pipeline, form.cleaned_data["a"])
            after = version_get(pipeline, form.cleaned_data["b"])
            diff = versions_diff(before, after)
        except NotFound as exc:
            error, status = exc.message, 404
    context = {
        "section": "pipelines",
        "pipeline": pipeline,
        "form": form,
        "numbers": numbers,
        "diff": diff,
        "error": error,
    }
    template = "console/version_diff.html#diff" if request.htmx else "console/version_diff.html"
    return render(request, template, context, status=status)


# -- environments -----------------------------------------------------------------------


def _environment_context(
    request, pipeline, environment, *, form=None, problems=None, rollback=None, stale=None
) -> dict:
    effective = _effective_or_none(pipeline, environment)
    current = environment_revision(effective.release if effective else None)
    # the override form is based on what the page shows: re-shown after an error, it keeps
    # the revision it was based on, unless that error was that it is stale
    posted = form.data.get("base_revision") if form is not None and form.is_bound and not stale else None
    page, query = paginate(request, release_history(pipeline, environment), per_page=RELEASES_PER_PAGE)
    if form is None:
        override = effective.release.override if effective else {}
        form = OverrideForm(
            initial={"override": json.dumps(override, indent=2, ensure_ascii=False) if override else ""}
        )
    provenance = effective.provenance if effective else {}
    return {
        "section": "pipelines",
        "pipeline": pipeline,
        "environment": environment,
        "environments": environment_list(),
        "effective": effective,
        "lines": annotated_lines(effective.document, provenance) if effective else [],
        "overridden": sum(1 for origin in provenance.values() if origin != "base"),
        "page": page,
        "query": query,
        "form": form,
        "problems": problems or [],
        "can_change": can(request.user, ENVIRONMENT_CHANGE, environment),
        "bindings": list(environment.service_bindings.all()),
        "rollback": rollback or {},
        "base_revision": posted or current,
        "stale": stale,
    }


@require_http_methods(["GET", "POST"])
def environment_detail(request: HtmxHttpRequest, slug, env):
    """What runs in one environment, its release history, and its override (POST saves it)."""
    pipeline = pipeline_get(slug)
    environment = environment_get(env)
    if request.method == "GET":
        template = "console/environment_detail.html"
        if request.htmx:
            template += "#history"
        return render(request, template, _environment_context(request, pipeline, environment))
    form = OverrideForm(request.POST)
    if not form.is_valid():
        context = _environment_context(request, pipeline, environment, form=form)
        return render(request, "console/environment_detail.html", context, status=400)
    data = form.cleaned_data
    try:
        if data["action"] == "test":
            suite = suite_start(
                pipeline=pipeline, environment=environment, actor=request.user, override=data["override"]
            )
            return redirect("console:suite-run", slug=slug, suite_id=suite.pk)
        if data["action"] == "impact":
            report = impact_start(
                pipeline=pipeline,
                environment=environment,
                actor=request.user,
                override=data["override"],
                last=IMPACT_DEFAULT_WINDOW,
            )
            return redirect("console:impact-report", slug=slug, report_id=report.pk)
        submitted = change_submit(
            kind="override",
            pipeline=pipeline,
            environment=environment,
            actor=request.user,
            reason=data["reason"],
            gate_override=data["gate_override"],
            base_revision=data["base_revision"] or MISSING,
            override=data["override"],
        )
    except Stale as exc:
        context = _environment_context(request, pipeline, environment, form=form, stale=exc.extra)
        return render(request, "console/environment_detail.html", context, status=exc.status)
    except ServiceError as exc:
        fields = exc.extra.get("fields", {}) if isinstance(exc.extra, dict) else {}
        form.add_error("reason" if "reason" in fields else "override", exc.message)
        context = _environment_context(request, pipeline, environment, form=form, problems=_problems(exc))
        return render(request, "console/environment_detail.html", context, status=exc.status)
    if submitted.requested:
        return change_opened(request, submitted)
    messages.success(request, f"Override of {environment.name} saved (release #{submitted.applied.pk}).")
    return redirect("console:environment-detail", slug=slug, env=environment.name)


@require_POST
def rollback(request: HtmxHttpRequest, slug, env, release_id):
    """Run an earlier release of this environment again (as a new release)."""
    pipeline = pipeline_get(slug)
    environment = environment_get(env)
    target = release_history(pipeline, environment).filter(pk=release_id).first()
    if target is None:
        raise NotFound(f"Release {release_id} is not a release of {pipeline.slug} in {environment.name}.")
    form = RollbackForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else request.POST.get("reason", "")
    try:
        if not form.is_valid():
            raise ServiceError(_form_errors(form))
        submitted = change_submit(
            kind="rollback",
            pipeline=pipeline,
            environment=environment,
            actor=request.user,
            reason=reason,
            gate_override=form.cleaned_data["gate_override"],
            to_release=target.pk,
        )
    except ServiceError as exc:
        context = _environment_context(
            request,
            pipeline,
            environment,
            rollback={"release": target.pk, "error": exc.message, "reason": reason},
        )
        return render(request, "console/environment_detail.html", context, status=exc.status)
    if submitted.requested:
        return change_opened(request, submitted)
    release = submitted.applied
    messages.success(
        request,
        f"{environment.name} rolled back to release #{target.pk} "
        f"(v{target.version.number}); the new release is #{release.pk}.",
    )
    return redirect("console:environment-detail", slug=slug, env=environment.name)


@require_GET
def environment_diff(request: HtmxHttpRequest, slug):
    """The effective configs of two environments compared: ?a=env&b=env."""
    pipeline = pipeline_get(slug)
    environments = list(environment_list())
    released = [e.name for e in environments if e.name in live_releases(pipeline)]
    defaults = {"a": released[0] if released else "", "b": released[-1] if released else ""}
    form = EnvironmentDiffForm({k: request.GET.get(k) or defaults[k] for k in ("a", "b")})
    diff, error, status = None, "", 200
    if len(released) < 2 and not request.GET:
        pass  # fewer than two environments run it: the page says so
    elif not form.is_valid():
        error, status = f"Pick two environments to compare. {_form_errors(form)}", 400
    else:
        try:
            diff = environments_diff(pipeline, form.cleaned_data["a"], form.cleaned_data["b"])
        except NotFound as exc:
            error, status = exc.message, 404
    context = {
        "section": "pipelines",
        "pipeline": pipeline,
        "form": form,
        "environments": environments,
        "released": released,
        "diff": diff,
        "error": error,
    }
    template = "console/environment_diff.html#diff" if request.htmx else "console/environment_diff.html"
    return render(request, template, context, status=status)
