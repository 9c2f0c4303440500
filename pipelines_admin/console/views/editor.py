"""Config editing pages: the whole config as YAML/JSON, a rule's params and settings
(a form generated from its params schema), a new rule, a stage's settings, and
removing and reordering rules.

Every page edits the version it was rendered from (``base_version``, a hidden input).
Saving creates a new version through ``configs.services.config_version_create``,
which refuses a stale base (Conflict): the page then shows what changed since and
keeps what the user typed, and offers to apply the user's change to the newest
version. Every write is checked by the service; the permission check here only
decides what to offer."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.http import HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from pipelines_admin.accounts.permissions import VERSION_CREATE, can
from pipelines_admin.configs.diffs import semantic_diff
from pipelines_admin.configs.editing import (
    RULE_SETTINGS,
    STAGE_SETTINGS,
    DocumentEditError,
    merge_changes,
    move_rule,
    remove_rule,
    rule_get,
    set_rule_params,
    set_rule_settings,
    set_stage_settings,
    stage_get,
)
from pipelines_admin.configs.engine import document_problems
from pipelines_admin.configs.models import ConfigVersion, Pipeline
from pipelines_admin.configs.selectors import pipeline_get, version_get, version_latest
from pipelines_admin.configs.services import config_version_create
from pipelines_admin.console.forms.editor.catalogue import rule_catalogue, rule_class_groups
from pipelines_admin.console.forms.editor.documents import FORMATS, check_text, document_text, parse_document
from pipelines_admin.console.forms.editor.rules import RuleForm, suggested_rule_id
from pipelines_admin.console.forms.editor.stages import StageForm
from pipelines_admin.console.http import HtmxHttpRequest
from pipelines_admin.core.errors import Conflict, InvalidInput, NotAllowed, NotFound, ServiceError

# -- shared -----------------------------------------------------------------------------

MESSAGE_MISSING = "Say what you changed and why: every version has a message."


def _latest(pipeline: Pipeline) -> ConfigVersion:
    latest = version_latest(pipeline)
    if latest is None:
        raise NotFound("This pipeline has no config version yet.")
    return latest


def _posted_version(pipeline: Pipeline, value: str | None) -> ConfigVersion:
    """The version a form names (its base, or the one to merge into)."""
    return version_get(pipeline, int(value) if value and value.isdigit() else 0)


def _format_of(data: QueryDict) -> str:
    """The text format a request asks for: "yaml" unless it names another known one."""
    fmt = data.get("format")
    return fmt if fmt in FORMATS else "yaml"


def _problems_of(exc: ServiceError) -> list[dict]:
    problems = exc.extra.get("problems") if isinstance(exc.extra, dict) else None
    return list(problems) if problems else [{"path": "", "message": exc.message}]


def _saved(request: HtmxHttpRequest, pipeline: Pipeline, version: ConfigVersion):
    messages.success(request, f"Saved version {version.number}: {version.message}")
    return redirect("console:pipeline-detail", slug=pipeline.slug)


def _page(request: HtmxHttpRequest, pipeline: Pipeline, base: ConfigVersion, **context) -> dict:
    latest = version_latest(pipeline)
    return {
        "section": "pipelines",
        "pipeline": pipeline,
        "tab": "edit",
        "base": base,
        "latest": latest,
        "stale": latest is not None and latest.pk != base.pk,
        "can_save": can(request.user, VERSION_CREATE),
        **context,
    }


def _save(
    request: HtmxHttpRequest, *, pipeline, document, base, message, state: dict
) -> ConfigVersion | None:
    """Create the version, or record in ``state`` why not (``problems``, ``conflict``,
    ``refused``, ``message_error``) and the response status."""
    if not message:
        state.update(message_error=MESSAGE_MISSING, status=400)
        return None
    try:
        return config_version_create(
            pipeline=pipeline, document=document, base_version=base, author=request.user, message=message
        )
    except Conflict as exc:
        state.update(conflict=exc.extra, status=409)
    except NotAllowed as exc:
        state.update(refused=exc.message, status=403)
    except InvalidInput as exc:
        state.update(save_problems=_problems_of(exc), status=400)
    return None


def _save_or_show(request: HtmxHttpRequest, *, pipeline, base, document, show):
    """Save ``document`` (a validated form's result; None when the form has errors) as a
    new version and go back to the pipeline; otherwise show the form again through
    ``show(status=..., **why_not)``."""
    state: dict = {"status": 400}
    if document is not None:
        version = _save(
            request,
            pipeline=pipeline,
            document=document,
            base=base,
            message=request.POST.get("message", "").strip(),
            state=state,
        )
        if version is not None:
            return _saved(request, pipeline, version)
    status = state.pop("status")
    return show(status=status, **state)


def _typing_state(request: HtmxHttpRequest) -> dict:
    """What the save bar says while the user types after a refused save: the form as
    shown posts ``message_checked`` once a save was refused for want of a message, and
    ``merge_into`` while it shows a conflict with a newer version."""
    state: dict = {"message_checked": "message_checked" in request.POST}
    if state["message_checked"] and not request.POST.get("message", "").strip():
        state["message_error"] = MESSAGE_MISSING
    if request.POST.get("merge_into"):
        state["conflict"] = {"latest_version": request.POST["merge_into"]}
    return state


def _dependents(document: dict, rule_id: str) -> list[tuple[str, str]]:
    """The rules (stage, id) that name ``rule_id`` as a dependency."""
    found = []
    for stage_name, stage in document.get("stages", {}).items():
        for rid, rule in (stage.get("rules") or {}).items():
            named = list(rule.get("dependencies") or []) + list(rule.get("cross_stage_dependencies") or [])
            if rule_id in named:
                found.append((stage_name, rid))
    return found


def _structure(document: dict) -> list[dict]:
    """The stages and their rules, as the overview of the editor lists them."""
    catalogue = rule_catalogue()
    stages = []
    for name, stage in (document.get("stages") or {}).items():
        rules = list((stage.get("rules") or {}).items())
        summary = ["enabled" if stage.get("enabled", True) else "disabled"]
        if stage.get("fail_fast"):
            summary.append("stops at the first failure")
        if stage.get("parallel_execution"):
            limit = stage.get("max_parallel_rules")
            summary.append(f"parallel{f' (up to {limit})' if limit else ''}")
        if "timeout_seconds" in stage:
            summary.append(f"timeout {stage['timeout_seconds']} s")
        rows = []
        for index, (rid, rule) in enumerate(rules):
            info = catalogue.get(rule.get("class"))
            after = list(rule.get("dependencies") or []) + list(rule.get("cross_stage_dependencies") or [])
            rows.append(
                {
                    "id": rid,
                    "rule": rule,
                    "title": info.title if info else rule.get("class"),
                    "known": info is not None,
                    "first": index == 0,
                    "last": index == len(rules) - 1,
                    "after": after,
                }
            )
        stages.append(
            {"name": name, "stage": stage, "summary": summary, "when": stage.get("when"), "rules": rows}
        )
    return stages


# -- the whole config -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def config_edit(request: HtmxHttpRequest, slug):
    """The stages and rules of the latest version, and the whole config as YAML or JSON."""
    pipeline = pipeline_get(slug)
    if request.method == "GET":
        base = _latest(pipeline)
        fmt = _format_of(request.GET)
        return render(
            request,
            "console/config_edit.html",
            _page(
                request,
                pipeline,
                base,
                fmt=fmt,
                text=document_text(base.document, fmt),
                message="",
                structure=_structure(base.document),
            ),
        )

    base = _posted_version(pipeline, request.POST.get("base_version"))
    fmt = _format_of(request.POST)
    text = request.POST.get("text", "").replace("\r\n", "\n")
    message = request.POST.get("message", "").strip()
    action = request.POST.get("action", "check")
    state: dict = {"status": 200}
    if action in ("to_yaml", "to_json"):
        document, problems = parse_document(text, fmt)
        if problems:
            state.update(problems=problems, checked=True, convert_failed=action[3:].upper(), status=400)
        else:
            fmt = action[3:]
            text = document_text(document, fmt)
    elif action == "merge":
        into = _posted_version(pipeline, request.POST.get("merge_into"))
        document, problems = parse_document(text, fmt)
        if problems:
            state.update(problems=problems, checked=True, status=400)
        else:
            readable = isinstance(document, dict)
            merged = merge_changes(base.document, document, into.document) if readable else document
            base, text = into, document_text(merged, fmt)
            state.update(
                merged=True,
                merged_changes=semantic_diff(into.document, merged) if readable else [],
                problems=document_problems(merged),
                checked=True,
            )
    else:
        check = check_text(text, fmt)
        state.update(problems=check.problems, checked=True, status=200 if check.valid else 400)
        if action == "check" and request.htmx:
            context = _page(request, pipeline, base, **state, fmt=fmt)
            return render(request, "console/config_edit.html#raw-result", context)
        if action == "save" and check.valid:
            version = _save(
                request, pipeline=pipeline, document=check.document, base=base, message=message, state=state
            )
            if version is not None:
                return _saved(request, pipeline, version)
    status = state.pop("status")
    return render(
        request,
        "console/config_edit.html",
        _page(
            request,
            pipeline,
            base,
            fmt=fmt,
            text=text,
            message=message,
            structure=_structure(base.document),
            **state,
        ),
        status=status,
    )


# -- one rule ---------------------------------------------------------------------------


def _rule_page(request: HtmxHttpRequest, pipeline, base, form: RuleForm, status=200, **context):
    document = form.document
    context = _page(
        request,
        pipeline,
        base,
        form=form,
        stage=form.stage,
        rule_id=form.rule_id,
        dependents=_dependents(document, form.rule_id),
        message=request.POST.get("message", "").strip(),
        **context,
    )
    return render(request, "console/rule_edit.html", context, status=status)


@require_http_methods(["GET", "POST"])
def rule_edit(request: HtmxHttpRequest, slug, stage, rule):
    """A rule's params (generated from its class's params schema) and settings."""
    pipeline = pipeline_get(slug)
    if request.method == "GET":
        base = _latest(pipeline)
        return _rule_page(
            request,
            pipeline,
            base,
            RuleForm(document=base.document, stage=stage, class_name="", rule_id=rule),
        )

    base = _posted_version(pipeline, request.POST.get("base_version"))
    if request.POST.get("action") == "merge":
        return _rule_merge(request, pipeline, base, stage, rule)
    form = RuleForm(document=base.document, stage=stage, class_name="", rule_id=rule, data=request.POST)
    document = form.validate()
    return _save_or_show(
        request,
        pipeline=pipeline,
        base=base,
        document=document,
        show=partial(_rule_page, request, pipeline, base, form),
    )


def _rule_merge(request: HtmxHttpRequest, pipeline, base, stage, rule):
    """Apply the user's change of one rule to a newer version (the rule's other
    changes there are kept), and show the result to check and save."""
    into = _posted_version(pipeline, request.POST.get("merge_into"))
    mine = RuleForm(document=base.document, stage=stage, class_name="", rule_id=rule, data=request.POST)
    _, candidate = mine.candidate()
    try:
        theirs = rule_get(into.document, stage, rule)
    except DocumentEditError:
        mine.validate()
        return _rule_page(
            request,
            pipeline,
            base,
            mine,
            status=409,
            merge_failed=(
                f"Version {into.number} no longer has rule {rule} in stage {stage}: it was removed or moved. "
                "Your values are still here; add the rule again if it is still needed."
            ),
        )
    merged = merge_changes(rule_get(base.document, stage, rule), rule_get(candidate, stage, rule), theirs)
    document = into.document
    if "params" in merged:
        document = set_rule_params(document, stage, rule, merged["params"])
    document = set_rule_settings(document, stage, rule, {k: merged[k] for k in RULE_SETTINGS if k in merged})
    form = RuleForm(document=document, stage=stage, class_name="", rule_id=rule)
    form.validate()
    return _rule_page(
        request, pipeline, into, form, merged=True, merged_changes=semantic_diff(into.document, document)
    )


@require_POST
def rule_validate(request: HtmxHttpRequest, slug, stage):
    """While the user types: the form's errors, each beside its field (out-of-band
    swaps of the error containers, so the inputs and the cursor stay as they are)."""
    pipeline = pipeline_get(slug)
    base = _posted_version(pipeline, request.POST.get("base_version"))
    adding = request.POST.get("adding") == "1"
    class_name = request.POST.get("class", "")
    if adding and class_name not in rule_catalogue():
        return HttpResponseBadRequest("Choose a rule class first.")
    form = RuleForm(
        document=base.document,
        stage=stage,
        class_name=class_name,
        rule_id=request.POST.get("rule", ""),
        data=request.POST,
        adding=adding,
    )
    form.validate()
    return render(request, "console/rule_edit.html#validation", {"form": form, **_typing_state(request)})


@require_POST
def rule_remove(request: HtmxHttpRequest, slug, stage, rule):
    """Remove a rule (a new version); refused, with the problems, while others depend on it."""
    pipeline = pipeline_get(slug)
    base = _posted_version(pipeline, request.POST.get("base_version"))
    document = remove_rule(base.document, stage, rule)
    message = request.POST.get("remove_message", "").strip()
    remove: dict = {"message": message}
    status = 400
    problems = document_problems(document)
    if problems:
        remove["problems"] = problems
    else:
        state: dict = {}
        version = _save(
            request, pipeline=pipeline, document=document, base=base, message=message, state=state
        )
        if version is not None:
            return _saved(request, pipeline, version)
        status = state["status"]
        remove.update(
            problems=state.get("save_problems"),
            conflict=state.get("conflict"),
            error=state.get("message_error") or state.get("refused"),
        )
        if remove["conflict"]:  # show the newest version: the rule may have changed there
            base = _latest(pipeline)
    form = RuleForm(document=base.document, stage=stage, class_name="", rule_id=rule)
    return _rule_page(request, pipeline, base, form, status=status, remove=remove)


@require_POST
def rule_move(request: HtmxHttpRequest, slug, stage, rule):
    """Move a rule one place up or down within its stage (a new version)."""
    pipeline = pipeline_get(slug)
    base = _posted_version(pipeline, request.POST.get("base_version"))
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        raise InvalidInput("Say which way to move the rule: up or down.")
    document = move_rule(base.document, stage, rule, -1 if direction == "up" else 1)
    version = config_version_create(
        pipeline=pipeline,
        document=document,
        base_version=base,
        author=request.user,
        message=f"Move rule {rule} {direction} in stage {stage}",
    )
    messages.success(request, f"Saved version {version.number}: rule {rule} moved {direction}.")
    return redirect(reverse("console:config-edit", kwargs={"slug": slug}) + f"#stage-{stage}")


# -- a new rule -------------------------------------------------------------------------


def _add_page(request: HtmxHttpRequest, pipeline, base, stage, form: RuleForm | None, status=200, **context):
    stage_doc = stage_get(base.document, stage)
    context = _page(
        request,
        pipeline,
        base,
        stage=stage,
        form=form,
        groups=rule_class_groups(),
        chosen=form.info if form else None,
        stage_rules=list(stage_doc.get("rules") or {}),
        position=request.POST.get("position", ""),
        message=request.POST.get("message", "").strip(),
        discard_url=f"{request.path}?class={form.class_name}" if form else request.path,
        **context,
    )
    template = (
        "console/rule_add.html#new-rule"
        if request.htmx and request.method == "GET"
        else "console/rule_add.html"
    )
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
def rule_add(request: HtmxHttpRequest, slug, stage):
    """Add a rule to a stage: choose its class, then fill in its id, params and settings."""
    pipeline = pipeline_get(slug)
    if request.method == "GET":
        base = _latest(pipeline)
        class_name = request.GET.get("class", "")
        form = None
        if class_name in rule_catalogue():
            form = RuleForm(document=base.document, stage=stage, class_name=class_name, adding=True)
            form.rule_id = suggested_rule_id(base.document, class_name)
        return _add_page(request, pipeline, base, stage, form)

    base = _posted_version(pipeline, request.POST.get("base_version"))
    class_name = request.POST.get("class", "")
    if class_name not in rule_catalogue():
        return _add_page(
            request, pipeline, base, stage, None, status=400, class_error="Choose the kind of rule to add."
        )
    if request.POST.get("action") == "merge":  # the new rule goes into the newer version as it is
        base = _posted_version(pipeline, request.POST.get("merge_into"))
        form = RuleForm(
            document=base.document, stage=stage, class_name=class_name, data=request.POST, adding=True
        )
        form.validate()
        return _add_page(request, pipeline, base, stage, form, merged=True)
    form = RuleForm(
        document=base.document, stage=stage, class_name=class_name, data=request.POST, adding=True
    )
    form.position = _position(request.POST.get("position"))
    document = form.validate()
    return _save_or_show(
        request,
        pipeline=pipeline,
        base=base,
        document=document,
        show=partial(_add_page, request, pipeline, base, stage, form),
    )


def _position(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


# -- a stage ----------------------------------------------------------------------------


def _stage_page(request: HtmxHttpRequest, pipeline, base, form: StageForm, status=200, **context):
    structure = [s for s in _structure(form.document) if s["name"] == form.stage]
    context = _page(
        request,
        pipeline,
        base,
        form=form,
        stage=form.stage,
        stage_info=structure[0],
        message=request.POST.get("message", "").strip(),
        **context,
    )
    return render(request, "console/stage_edit.html", context, status=status)


@require_http_methods(["GET", "POST"])
def stage_edit(request: HtmxHttpRequest, slug, stage):
    """A stage's settings: enabled, fail fast, parallelism, timeout, condition."""
    pipeline = pipeline_get(slug)
    if request.method == "GET":
        base = _latest(pipeline)
        return _stage_page(request, pipeline, base, StageForm(document=base.document, stage=stage))

    base = _posted_version(pipeline, request.POST.get("base_version"))
    if request.POST.get("action") == "merge":
        into = _posted_version(pipeline, request.POST.get("merge_into"))
        mine = StageForm(document=base.document, stage=stage, data=request.POST)
        try:
            theirs = stage_get(into.document, stage)
        except DocumentEditError:
            mine.validate()
            return _stage_page(
                request,
                pipeline,
                base,
                mine,
                status=409,
                merge_failed=(
                    f"Version {into.number} no longer has stage {stage}. Your values are still here."
                ),
            )
        mine_settings = mine.settings.parse()
        before = {k: v for k, v in stage_get(base.document, stage).items() if k in STAGE_SETTINGS}
        now = {k: v for k, v in theirs.items() if k in STAGE_SETTINGS}
        document = set_stage_settings(into.document, stage, merge_changes(before, mine_settings, now))
        form = StageForm(document=document, stage=stage)
        form.validate()
        return _stage_page(
            request, pipeline, into, form, merged=True, merged_changes=semantic_diff(into.document, document)
        )
    form = StageForm(document=base.document, stage=stage, data=request.POST)
    candidate = form.validate()
    return _save_or_show(
        request,
        pipeline=pipeline,
        base=base,
        document=candidate,
        show=partial(_stage_page, request, pipeline, base, form),
    )


@require_POST
def stage_validate(request: HtmxHttpRequest, slug, stage):
    """While the user types: the stage form's errors, beside their fields (out of band)."""
    pipeline = pipeline_get(slug)
    base = _posted_version(pipeline, request.POST.get("base_version"))
    form = StageForm(document=base.document, stage=stage, data=request.POST)
    form.validate()
    return render(request, "console/stage_edit.html#validation", {"form": form, **_typing_state(request)})
