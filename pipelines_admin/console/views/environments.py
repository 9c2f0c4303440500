"""The Environments area: every environment (and a new one, for publishers), and one
environment's page: its settings, the pipelines live there, the services they call, and
its service bindings (bind a service, simulated or over HTTP, change or remove a
binding).

Every change goes through pipelines_admin.changes.services.change_submit: it applies it
through pipelines_admin.configs.services (which checks the role, the fields, and that no
live config there would become invalid), or opens a change request where the environment
is under change control. The permission checks here only decide what to offer."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from pipelines_admin.accounts.permissions import ENVIRONMENT_CHANGE, can, role_needed
from pipelines_admin.changes.selectors import upcoming_changes
from pipelines_admin.changes.services import change_submit
from pipelines_admin.configs.models import Environment, ServiceBinding
from pipelines_admin.configs.selectors import (
    environment_get,
    environment_live_releases,
    environment_overview,
    environment_services,
    parse_service,
    settings_revision,
)
from pipelines_admin.configs.services import environment_create
from pipelines_admin.console.forms.environments import (
    BindingForm,
    BindingRemoveForm,
    EnvironmentCreateForm,
    EnvironmentSettingsForm,
)
from pipelines_admin.console.http import HtmxHttpRequest
from pipelines_admin.console.views.changes import change_opened
from pipelines_admin.core.errors import NotFound, ServiceError, Stale
from pipelines_admin.core.revisions import MISSING


def _may_protect(user) -> bool:
    """Publishers (and superusers): they add environments and protect or unprotect them."""
    return can(user, ENVIRONMENT_CHANGE, Environment(protected=True))


def _refusal_into(form, exc: ServiceError) -> list[dict]:
    """Put a service's refusal beside the fields it names (the rest above the form);
    return the pipelines whose live config the change would have broken, if any."""
    extra = exc.extra if isinstance(exc.extra, dict) else {}
    fields = extra.get("fields")
    if not isinstance(fields, dict):
        fields = {}
    placed = False
    for field, errors in fields.items():
        if field in form.fields:
            for error in errors if isinstance(errors, list) else [errors]:
                form.add_error(field, str(error))
            placed = True
    pipelines = extra.get("pipelines") or []
    if pipelines:
        return pipelines  # the page lists them under "Nothing was changed"
    if not placed or "__all__" in fields:
        form.add_error(None, exc.message)
    return []


# -- the list ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def environments(request: HtmxHttpRequest):
    """Every environment; publishers add one here."""
    form = EnvironmentCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                environment = environment_create(actor=request.user, **form.cleaned_data)
            except ServiceError as exc:
                _refusal_into(form, exc)
                status = exc.status
            else:
                messages.success(
                    request,
                    f"Environment {environment.name} created. Bind the services its "
                    f"pipelines will call, then release pipelines to it.",
                )
                return redirect("console:environment", env=environment.name)
    context = {
        "section": "environments",
        "environments": environment_overview(),
        "form": form,
        "can_create": _may_protect(request.user),
    }
    return render(request, "console/environments.html", context, status=status)


# -- one environment -----------------------------------------------------------------------


def _binding_initial(environment: Environment, service: str) -> tuple[dict, ServiceBinding | None]:
    """The binding form's values for ?service=Interface:name: the binding's own when there
    is one (to change it), else the service to bind."""
    key = parse_service(service) if service else None
    if key is None:
        return {}, None
    binding = environment.service_bindings.filter(interface=key[0], name=key[1]).first()
    if binding is None:
        return {"interface": key[0], "name": key[1]}, None
    return {
        "interface": binding.interface,
        "name": binding.name,
        "kind": binding.kind,
        "url": binding.url,
        "timeout_seconds": binding.timeout_seconds,
        "retries": binding.retries,
        "secret_env": binding.secret_env,
        "latency_ms": binding.latency_ms,
        "failure_rate": binding.failure_rate,
        "base_revision": settings_revision(binding),
    }, binding


def _settings_initial(environment: Environment) -> dict:
    return {
        "position": environment.position,
        "description": environment.description,
        "protected": environment.protected,
        "change_requests_required": environment.change_requests_required,
        "approvals_required": environment.approvals_required,
        "base_revision": settings_revision(environment),
    }


def _rebased(form, revision: str):
    """A refused form shown again on top of what is there now: what was typed, and the
    revision it now starts from (so saving again applies it knowingly)."""
    data = form.data.copy()
    data["base_revision"] = revision
    rebased = type(form)(data)
    rebased.is_valid()
    return rebased


def _page(
    request,
    environment: Environment,
    *,
    settings_form=None,
    binding_form=None,
    refused=None,
    remove=None,
    status=200,
):
    editing = None
    if binding_form is None:
        initial, editing = _binding_initial(environment, request.GET.get("service", ""))
        binding_form = BindingForm(initial=initial)
    elif binding_form.is_bound:
        key = (binding_form.data.get("interface", ""), binding_form.data.get("name", ""))
        editing = environment.service_bindings.filter(interface=key[0], name=key[1]).first()
    services = environment_services(environment)
    bindings = list(environment.service_bindings.all())
    for binding in bindings:
        binding.revision = settings_revision(binding)  # type: ignore[attr-defined]  # what its remove form is based on
    called = {(s.interface, s.name) for s in services}
    context = {
        "section": "environments",
        "environment": environment,
        "settings_form": settings_form or EnvironmentSettingsForm(initial=_settings_initial(environment)),
        "binding_form": binding_form,
        "editing": editing,
        "refused": refused or [],
        "remove": remove or {},
        "bindings": bindings,
        "services": services,
        "live": environment_live_releases(environment),
        "uncalled": [b for b in bindings if (b.interface, b.name) not in called],
        "called_names": sorted({s.name for s in services}),
        "can_change": can(request.user, ENVIRONMENT_CHANGE, environment),
        "can_protect": _may_protect(request.user),
        "role": role_needed(ENVIRONMENT_CHANGE, environment),
        "upcoming": list(upcoming_changes(environment)),
    }
    return render(request, "console/environment.html", context, status=status)


def _back(environment: Environment, anchor: str = ""):
    return redirect(reverse("console:environment", kwargs={"env": environment.name}) + anchor)


@require_http_methods(["GET", "POST"])
def environment(request: HtmxHttpRequest, env):
    """One environment's page; POST changes its settings."""
    environment = environment_get(env)
    if request.method == "GET":
        return _page(request, environment)
    form = EnvironmentSettingsForm(request.POST)
    if not form.is_valid():
        return _page(request, environment, settings_form=form, status=400)
    values = {name: value for name, value in form.cleaned_data.items() if value is not None}
    base = values.pop("base_revision", None) or MISSING
    try:
        submitted = change_submit(
            kind="environment", environment=environment, actor=request.user, base_revision=base, **values
        )
    except Stale as exc:
        environment.refresh_from_db()
        form = _rebased(form, exc.extra["revision"])
        form.add_error(
            None,
            f"{exc.message} It now has: order {environment.position}, "
            f"{'protected' if environment.protected else 'not protected'}, description "
            f"“{environment.description or '(none)'}”. Your values are below.",
        )
        return _page(request, environment, settings_form=form, status=exc.status)
    except ServiceError as exc:
        _refusal_into(form, exc)
        return _page(request, environment, settings_form=form, status=exc.status)
    if submitted.requested:
        return change_opened(request, submitted)
    environment = submitted.applied
    messages.success(request, f"Settings of {environment.name} saved.")
    return _back(environment)


@require_POST
def binding_set(request: HtmxHttpRequest, env):
    """Bind a service in this environment, or change its binding."""
    environment = environment_get(env)
    form = BindingForm(request.POST)
    if not form.is_valid():
        return _page(request, environment, binding_form=form, status=400)
    interface, name = form.cleaned_data["interface"], form.cleaned_data["name"]
    base = form.cleaned_data["base_revision"]
    try:
        # changing a binding names the revision it was drawn from; binding a service anew
        # expects no binding there yet (one made meanwhile is not overwritten)
        submitted = change_submit(
            kind="binding",
            environment=environment,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            base_revision=base or None,
            interface=interface,
            name=name,
            remove=False,
            values=form.settings(),
            expect="existing" if base else "new",
        )
    except Stale as exc:
        form = _rebased(form, exc.extra["revision"])
        now = exc.extra.get("now", {})
        form.add_error(
            None,
            f"{exc.message} It now calls "
            f"{now.get('url') or 'the simulated adapter'} ({now.get('kind')}). Your values are "
            f"below.",
        )
        return _page(request, environment, binding_form=form, status=exc.status)
    except ServiceError as exc:
        refused = _refusal_into(form, exc)
        return _page(request, environment, binding_form=form, refused=refused, status=exc.status)
    if submitted.requested:
        return change_opened(request, submitted)
    binding = submitted.applied
    if not binding.changed:
        messages.info(
            request, f"Nothing changed: {binding.reference} was already bound so in {environment.name}."
        )
    elif binding.kind == ServiceBinding.Kind.HTTP:
        secret = f", its secret from {binding.secret_env}" if binding.secret_env else ""
        messages.success(
            request, f"{binding.reference} in {environment.name} now calls {binding.url}{secret}."
        )
    else:
        messages.success(
            request, f"{binding.reference} in {environment.name} now calls the simulated adapter."
        )
    return _back(environment, "#bindings")


@require_POST
def binding_remove(request: HtmxHttpRequest, env, service):
    """Remove a binding: the rules calling the service get the simulated adapter again."""
    environment = environment_get(env)
    key = parse_service(service)
    if key is None:
        raise NotFound("There is no such service binding.")
    form = BindingRemoveForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        if not form.is_valid():
            raise ServiceError(" ".join(" ".join(str(e) for e in errors) for errors in form.errors.values()))
        submitted = change_submit(
            kind="binding",
            environment=environment,
            actor=request.user,
            reason=reason,
            base_revision=form.cleaned_data["base_revision"] or MISSING,
            interface=key[0],
            name=key[1],
            remove=True,
        )
    except ServiceError as exc:
        extra = exc.extra if isinstance(exc.extra, dict) else {}
        remove = {
            "service": f"{key[0]}:{key[1]}",
            "error": exc.message,
            "reason": reason,
            "pipelines": extra.get("pipelines") or [],
        }
        return _page(request, environment, remove=remove, status=exc.status)
    if submitted.requested:
        return change_opened(request, submitted)
    messages.success(
        request,
        f"Binding of service:{key[0]}:{key[1]} removed from {environment.name}: its rules "
        f"call the simulated adapter now.",
    )
    return _back(environment, "#bindings")
