"""Environments and their service bindings, through the services every interface calls:
field validation, roles (editors for unprotected environments, publishers for protected
ones, with a reason), an audit event for each change, and refusal (nothing stored) when
a change would make the live config of a pipeline there invalid."""

import copy

import pytest

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.configs import services
from pipelines_admin.configs.models import Environment, Release, ServiceBinding
from pipelines_admin.configs.selectors import environment_services
from pipelines_admin.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from pipelines_admin.releases import services as release_services

pytestmark = pytest.mark.django_db

KYC_RULE = {
    "class": "KYCIdentityRule",
    "params": {"kyc_service": "service:KYCService:vendor"},
    "timeout_seconds": 2,
}


@pytest.fixture
def kyc_pipeline(editor, small_pipeline_document, environments):
    """The small pipeline with a KYC check calling service:KYCService:vendor (2 s time
    limit), live in development."""
    document = copy.deepcopy(small_pipeline_document)
    document["stages"]["compliance"] = {"rules": {"kyc": copy.deepcopy(KYC_RULE)}}
    pipeline = services.pipeline_create(
        slug="onboarding", name="Onboarding", document=document, author=editor
    )
    release_services.release_create(
        pipeline=pipeline,
        environment=environments["development"],
        version=pipeline.versions.get(),
        actor=editor,
    )
    return pipeline


def field_errors(exc_info) -> dict:
    return exc_info.value.extra.get("fields", {})


def events(action: str):
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


# -- creating and changing environments ----------------------------------------------------


@pytest.mark.parametrize("name", ["UAT", "with space", "-uat", "uat-", "ü", "a" * 51, ""])
def test_environment_create__invalid_name__refused_beside_the_name_field(publisher, environments, name):
    # Given a name that is not a lower-case slug / When an environment is created with it
    with pytest.raises(InvalidInput) as refused:
        services.environment_create(name=name, actor=publisher)
    # Then the name field says why, and nothing is stored
    assert "name" in field_errors(refused)
    assert Environment.objects.count() == 3 and not events("environment.created")


def test_environment_create__publisher__stored_and_audited_with_its_settings(publisher, environments):
    # Given a publisher / When they add a protected environment
    uat = services.environment_create(
        name="uat", actor=publisher, protected=True, position=25, description="  User acceptance  "
    )
    # Then it is stored with its settings, between staging and production, and audited
    assert (uat.protected, uat.position, uat.description) == (True, 25, "User acceptance")
    assert [e.name for e in Environment.objects.all()] == ["development", "staging", "uat", "production"]
    [event] = events("environment.created")
    assert event.data == {"protected": True, "position": 25, "description": "User acceptance"}


def test_environment_create__editor_or_existing_name__refused(publisher, editor, environments):
    # Given an editor / When they add an environment / Then refused: only publishers add them
    with pytest.raises(NotAllowed):
        services.environment_create(name="sandbox", actor=editor)
    # When a publisher adds one that exists / Then a conflict naming the field
    with pytest.raises(Conflict) as conflict:
        services.environment_create(name="staging", actor=publisher)
    assert field_errors(conflict) == {"name": ["already exists"]}
    assert not events("environment.created")


def test_environment_update__editor_changes_unprotected__audited_with_before_and_after(editor, environments):
    # Given development, unprotected / When an editor changes its description and order
    dev = services.environment_update(
        environment=environments["development"],
        actor=editor,
        protected=False,
        position=5,
        description="Try things here",
    )
    # Then it is changed and the event holds before and after
    assert (dev.position, dev.description) == (5, "Try things here")
    [event] = events("environment.updated")
    assert event.diff["before"]["position"] == 10 and event.diff["after"]["position"] == 5
    assert event.diff["after"]["description"] == "Try things here"


def test_environment_update__editor_on_protected__refused_nothing_changed(editor, environments):
    # Given production, protected / When an editor changes its description / Then refused
    with pytest.raises(NotAllowed):
        services.environment_update(
            environment=environments["production"],
            actor=editor,
            protected=True,
            position=30,
            description="changed",
            reason="because",
        )
    assert Environment.objects.get(name="production").description == "Live decisions on real applications."
    assert not events("environment.updated")


def test_environment_update__editor_protects_unprotected__refused(editor, environments):
    # Given staging, unprotected / When an editor tries to protect it / Then only publishers may
    with pytest.raises(NotAllowed):
        services.environment_update(
            environment=environments["staging"],
            actor=editor,
            protected=True,
            position=20,
            description="",
            reason="lock it",
        )
    assert not Environment.objects.get(name="staging").protected


def test_environment_update__publisher_unprotects_without_reason__refused_then_with_one_done(
    publisher, environments
):
    production = environments["production"]
    # Given production / When a publisher unprotects it without a reason / Then refused at the reason field
    with pytest.raises(InvalidInput) as refused:
        services.environment_update(
            environment=production,
            actor=publisher,
            protected=False,
            position=30,
            description=production.description,
            reason="  ",
        )
    assert "reason" in field_errors(refused) and "Unprotecting production" in refused.value.message
    assert Environment.objects.get(name="production").protected
    # When they give one / Then it is unprotected and the reason audited
    services.environment_update(
        environment=production,
        actor=publisher,
        protected=False,
        position=30,
        description=production.description,
        reason="decommissioned",
    )
    [event] = events("environment.updated")
    assert (event.reason, event.diff["before"]["protected"], event.diff["after"]["protected"]) == (
        "decommissioned",
        True,
        False,
    )


def test_environment_update__protected_change_without_reason__refused(publisher, environments):
    # Given production / When a publisher changes its description without a reason / Then refused
    with pytest.raises(InvalidInput) as refused:
        services.environment_update(
            environment=environments["production"],
            actor=publisher,
            protected=True,
            position=30,
            description="new words",
        )
    assert "reason" in field_errors(refused)


@pytest.mark.parametrize("position", [-1, 10_001])
def test_environment_update__position_out_of_range__refused_beside_the_field(editor, environments, position):
    # Given an order outside 0..10000 / When saved / Then the position field says why, nothing changed
    with pytest.raises(InvalidInput) as refused:
        services.environment_update(
            environment=environments["staging"],
            actor=editor,
            protected=False,
            position=position,
            description="",
        )
    assert "position" in field_errors(refused)
    assert Environment.objects.get(name="staging").position == 20


def test_environment_update__same_settings__nothing_changed_refused(editor, environments):
    staging = environments["staging"]
    # Given staging as it is / When saved unchanged / Then refused as no change, nothing audited
    with pytest.raises(InvalidInput, match="Nothing changed"):
        services.environment_update(
            environment=staging, actor=editor, protected=False, position=20, description=staging.description
        )
    assert not events("environment.updated")


# -- service bindings: validation -----------------------------------------------------------


@pytest.mark.parametrize(
    "settings,field",
    [
        ({"interface": "NoSuchService"}, "interface"),
        ({"name": "bad name!"}, "name"),
        ({"kind": "carrier-pigeon"}, "kind"),
        ({"kind": "http", "url": "ftp://kyc.example.com/"}, "url"),
        ({"kind": "http", "url": "https://user:hunter2@kyc.example.com/"}, "url"),
        ({"kind": "http", "url": "https://kyc.example.com/v1?api_key=hunter2"}, "url"),
        ({"kind": "http", "url": "https://kyc.example.com/", "timeout_seconds": 0}, "timeout_seconds"),
        (
            {"kind": "http", "url": "https://kyc.example.com/", "timeout_seconds": float("nan")},
            "timeout_seconds",
        ),
        ({"kind": "http", "url": "https://kyc.example.com/", "timeout_seconds": 301}, "timeout_seconds"),
        ({"kind": "http", "url": "https://kyc.example.com/", "secret_env": "kyc-key"}, "secret_env"),
        ({"kind": "http", "url": "https://kyc.example.com/", "secret_env": "SECRET_KEY"}, "secret_env"),
        ({"kind": "http", "url": "https://kyc.example.com/", "secret_env": "RUN_INPUT_KEYS"}, "secret_env"),
        ({"kind": "simulated", "latency_ms": 60_001}, "latency_ms"),
        ({"kind": "simulated", "failure_rate": 1.5}, "failure_rate"),
        ({"kind": "simulated", "failure_rate": float("inf")}, "failure_rate"),
        ({"kind": "http"}, "url"),
    ],
)
def test_service_binding_set__invalid_setting__refused_beside_its_field_nothing_stored(
    editor, environments, settings, field
):
    # Given a binding with one bad setting
    values = {"interface": "KYCService", "name": "vendor", **settings}
    # When it is set in development
    with pytest.raises(InvalidInput) as refused:
        services.service_binding_set(environment=environments["development"], actor=editor, **values)
    # Then that field says why, and nothing is stored or audited
    assert field in field_errors(refused), refused.value.extra
    assert not ServiceBinding.objects.exists() and not events("service_binding.set")


def test_service_binding_set__http_with_secret_name__stored_without_any_secret_and_audited(
    editor, environments, monkeypatch
):
    # Given the vendor's key in the environment variable the binding names
    monkeypatch.setenv("JUMIO_API_KEY", "the-real-secret")
    # When development binds KYC to the vendor over HTTP
    binding = services.service_binding_set(
        environment=environments["development"],
        interface="KYCService",
        name="jumio",
        actor=editor,
        kind="http",
        url="https://kyc.example.com/v1",
        timeout_seconds=4,
        secret_env="JUMIO_API_KEY",
    )
    # Then the variable's name is stored, never its value, and the event says what changed
    assert (binding.kind, binding.url, binding.secret_env, binding.changed) == (
        "http",
        "https://kyc.example.com/v1",
        "JUMIO_API_KEY",
        True,
    )
    [event] = events("service_binding.set")
    assert event.diff == {
        "before": {},
        "after": {
            "kind": "http",
            "url": "https://kyc.example.com/v1",
            "timeout_seconds": 4,
            "retries": 0,
            "secret_env": "JUMIO_API_KEY",
            "latency_ms": 0,
            "failure_rate": 0.0,
        },
    }
    assert event.data == {"created": True}
    assert "the-real-secret" not in str(AuditEvent.objects.values_list("diff", "data"))


def test_service_binding_set__http_to_simulated__http_settings_dropped(editor, environments):
    dev = environments["development"]
    services.service_binding_set(
        environment=dev,
        interface="KYCService",
        name="jumio",
        actor=editor,
        kind="http",
        url="https://kyc.example.com/",
        secret_env="JUMIO_API_KEY",
        timeout_seconds=3,
    )
    # Given an HTTP binding / When it becomes simulated, the form's other fields still filled in
    binding = services.service_binding_set(
        environment=dev,
        interface="KYCService",
        name="jumio",
        actor=editor,
        kind="simulated",
        url="https://kyc.example.com/",
        secret_env="JUMIO_API_KEY",
        timeout_seconds=3,
        latency_ms=40,
    )
    # Then only a simulated binding's settings are kept
    binding.refresh_from_db()
    assert (binding.kind, binding.url, binding.secret_env, binding.timeout_seconds, binding.latency_ms) == (
        "simulated",
        "",
        "",
        5.0,
        40,
    )


def test_service_binding_set__unchanged__nothing_written(editor, environments):
    dev = environments["development"]
    first = services.service_binding_set(
        environment=dev, interface="KYCService", name="jumio", actor=editor, kind="simulated", latency_ms=10
    )
    # Given a binding / When it is set again exactly so / Then nothing is written
    again = services.service_binding_set(
        environment=dev, interface="KYCService", name="jumio", actor=editor, kind="simulated", latency_ms=10
    )
    assert again.changed is False and again.updated_at == first.updated_at
    assert len(events("service_binding.set")) == 1


def test_service_binding_set__expect_new_or_existing__conflict_or_not_found(editor, environments):
    dev = environments["development"]
    # Given no binding / When changing one that must exist / Then not found
    with pytest.raises(NotFound):
        services.service_binding_set(
            environment=dev,
            interface="KYCService",
            name="jumio",
            actor=editor,
            expect="existing",
            kind="simulated",
        )
    services.service_binding_set(
        environment=dev, interface="KYCService", name="jumio", actor=editor, expect="new", kind="simulated"
    )
    # When creating it again as new / Then a conflict, the binding unchanged
    with pytest.raises(Conflict):
        services.service_binding_set(
            environment=dev,
            interface="KYCService",
            name="jumio",
            actor=editor,
            expect="new",
            kind="simulated",
            latency_ms=99,
        )
    assert ServiceBinding.objects.get().latency_ms == 0


# -- service bindings: roles ------------------------------------------------------------------


def test_service_binding_set__roles__viewer_never_editor_not_in_protected_publisher_with_reason(
    viewer, editor, publisher, environments
):
    production = environments["production"]
    values = {"interface": "KYCService", "name": "jumio", "kind": "http", "url": "https://kyc.example.com/"}
    # Given a viewer / Then they bind nothing, even where editors may
    with pytest.raises(NotAllowed):
        services.service_binding_set(environment=environments["development"], actor=viewer, **values)
    # Given an editor / Then not in production
    with pytest.raises(NotAllowed):
        services.service_binding_set(environment=production, actor=editor, reason="go live", **values)
    # Given a publisher / Then in production with a reason only
    with pytest.raises(InvalidInput) as refused:
        services.service_binding_set(environment=production, actor=publisher, **values)
    assert "reason" in field_errors(refused)
    assert not ServiceBinding.objects.exists()
    services.service_binding_set(
        environment=production, actor=publisher, reason="CAB-12 vendor contract", **values
    )
    assert events("service_binding.set")[0].reason == "CAB-12 vendor contract"


def test_service_binding_remove__roles_and_audit(editor, publisher, environments):
    production = environments["production"]
    services.service_binding_set(
        environment=production,
        interface="KYCService",
        name="jumio",
        actor=publisher,
        kind="simulated",
        latency_ms=5,
        reason="test vendor",
    )
    # Given a binding in production / When an editor removes it / Then refused, still there
    with pytest.raises(NotAllowed):
        services.service_binding_remove(
            environment=production, interface="KYCService", name="jumio", actor=editor, reason="not needed"
        )
    # When a publisher removes it without a reason / Then refused
    with pytest.raises(InvalidInput):
        services.service_binding_remove(
            environment=production, interface="KYCService", name="jumio", actor=publisher
        )
    assert ServiceBinding.objects.count() == 1
    # When with a reason / Then removed, and the event keeps what it was
    services.service_binding_remove(
        environment=production,
        interface="KYCService",
        name="jumio",
        actor=publisher,
        reason="back to the simulated adapter",
    )
    assert not ServiceBinding.objects.exists()
    [event] = events("service_binding.removed")
    assert event.diff["before"]["latency_ms"] == 5 and event.reason == "back to the simulated adapter"
    # When removed again / Then not found
    with pytest.raises(NotFound):
        services.service_binding_remove(
            environment=production, interface="KYCService", name="jumio", actor=publisher, reason="again"
        )


# -- the live configs are validated with the new bindings first -------------------------------


def test_service_binding_set__would_break_a_live_config__refused_with_its_problems_nothing_stored(
    editor, kyc_pipeline, environments
):
    dev = environments["development"]
    before = AuditEvent.objects.count()
    # Given onboarding live in development, its KYC rule giving up after 2 s
    # When the vendor is bound over HTTP with a 5 s timeout
    with pytest.raises(InvalidInput) as refused:
        services.service_binding_set(
            environment=dev,
            interface="KYCService",
            name="vendor",
            actor=editor,
            kind="http",
            url="https://kyc.example.com/",
            timeout_seconds=5,
        )
    # Then refused, naming the pipeline, its version and each problem with its path
    [failure] = refused.value.extra["pipelines"]
    assert (failure["pipeline"], failure["version"]) == ("onboarding", 1)
    [problem] = failure["problems"]
    assert problem["path"] == "/stages/compliance/rules/kyc/params/kyc_service"
    assert "5 s" in problem["message"] and "2 s" in problem["message"]
    assert "onboarding" in refused.value.message
    # and nothing is stored
    assert not ServiceBinding.objects.exists() and AuditEvent.objects.count() == before
    # When the timeout is under the rule's limit / Then it applies
    services.service_binding_set(
        environment=dev,
        interface="KYCService",
        name="vendor",
        actor=editor,
        kind="http",
        url="https://kyc.example.com/",
        timeout_seconds=1.5,
    )
    assert ServiceBinding.objects.get().timeout_seconds == 1.5


def test_service_binding_set__change_of_existing_would_break__old_binding_kept(
    editor, kyc_pipeline, environments
):
    dev = environments["development"]
    services.service_binding_set(
        environment=dev,
        interface="KYCService",
        name="vendor",
        actor=editor,
        kind="http",
        url="https://kyc.example.com/",
        timeout_seconds=1,
    )
    # Given a working HTTP binding / When its timeout is raised past the rule's limit / Then refused, kept as it was
    with pytest.raises(InvalidInput):
        services.service_binding_set(
            environment=dev,
            interface="KYCService",
            name="vendor",
            actor=editor,
            kind="http",
            url="https://kyc.example.com/",
            timeout_seconds=2,
        )
    assert ServiceBinding.objects.get().timeout_seconds == 1
    assert len(events("service_binding.set")) == 1


def test_service_binding_set__disabled_rule_or_other_environment__not_in_the_way(
    editor, kyc_pipeline, environments
):
    # Given the KYC rule live in development only / When staging binds the vendor slowly / Then fine
    services.service_binding_set(
        environment=environments["staging"],
        interface="KYCService",
        name="vendor",
        actor=editor,
        kind="http",
        url="https://kyc.example.com/",
        timeout_seconds=30,
    )
    # Given the rule turned off in development / When development binds it slowly / Then fine too
    release_services.rule_toggle(
        pipeline=kyc_pipeline,
        environment=environments["development"],
        stage="compliance",
        rule="kyc",
        enabled=False,
        actor=editor,
    )
    services.service_binding_set(
        environment=environments["development"],
        interface="KYCService",
        name="vendor",
        actor=editor,
        kind="http",
        url="https://kyc.example.com/",
        timeout_seconds=30,
    )
    # and turning the rule back on is refused with the same problem
    with pytest.raises(InvalidInput) as refused:
        release_services.rule_toggle(
            pipeline=kyc_pipeline,
            environment=environments["development"],
            stage="compliance",
            rule="kyc",
            enabled=True,
            actor=editor,
        )
    assert refused.value.extra["problems"][0]["path"] == "/stages/compliance/rules/kyc/params/kyc_service"


def test_release_create__binding_slower_than_the_rule__refused(editor, publisher, kyc_pipeline, environments):
    # Given staging's vendor bound with a 10 s timeout
    staging = environments["staging"]
    services.service_binding_set(
        environment=staging,
        interface="KYCService",
        name="vendor",
        actor=editor,
        kind="http",
        url="https://kyc.example.com/",
        timeout_seconds=10,
    )
    # When onboarding (its KYC rule: 2 s) is released there / Then refused with the problem's path
    with pytest.raises(InvalidInput) as refused:
        release_services.release_create(
            pipeline=kyc_pipeline, environment=staging, version=kyc_pipeline.versions.get(), actor=editor
        )
    assert [p["path"] for p in refused.value.extra["problems"]] == [
        "/stages/compliance/rules/kyc/params/kyc_service"
    ]
    assert not Release.objects.filter(environment=staging).exists()


def test_service_binding_remove__live_configs_checked__removal_back_to_simulated_allowed(
    editor, kyc_pipeline, environments
):
    dev = environments["development"]
    services.service_binding_set(
        environment=dev,
        interface="KYCService",
        name="vendor",
        actor=editor,
        kind="http",
        url="https://kyc.example.com/",
        timeout_seconds=1,
    )
    # Given an HTTP binding the live config uses / When removed / Then the simulated adapter serves it again
    services.service_binding_remove(environment=dev, interface="KYCService", name="vendor", actor=editor)
    assert not ServiceBinding.objects.exists()


# -- which services the pipelines of an environment call ---------------------------------------


def test_environment_services__live_pipeline__each_service_with_its_callers_and_binding(
    editor, kyc_pipeline, environments
):
    dev = environments["development"]
    services.service_binding_set(
        environment=dev, interface="KYCService", name="vendor", actor=editor, kind="simulated", latency_ms=20
    )
    # Given onboarding live in development, calling the KYC vendor / When its services are listed
    [kyc] = environment_services(dev)
    # Then the service, the rule calling it with its time limit, and its binding
    assert (kyc.reference, kyc.binding.latency_ms) == ("service:KYCService:vendor", 20)
    [caller] = kyc.callers
    assert (caller.pipeline.slug, caller.stage, caller.rule, caller.time_limit, caller.enabled) == (
        "onboarding",
        "compliance",
        "kyc",
        2,
        True,
    )
    # and an environment where nothing runs calls nothing
    assert environment_services(environments["staging"]) == []
