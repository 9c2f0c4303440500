"""The release gate on protected environments."""

import pytest

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.changes.services import change_submit
from pipelines_admin.configs.candidates import candidate_resolve
from pipelines_admin.configs.change_control import ChangeRequestRequired
from pipelines_admin.configs.selectors import release_live
from pipelines_admin.releases import services as release_services
from pipelines_admin.testcases import services
from pipelines_admin.testcases.gate import GateClosed, gate_state
from tests.pipelines_admin.conftest import through_change_request

pytestmark = pytest.mark.django_db


def release_to_production(pipeline, environments, publisher, **kwargs):
    return release_services.release_create(
        pipeline=pipeline,
        environment=environments["production"],
        version=pipeline.versions.get(number=1),
        actor=publisher,
        reason="quarterly release",
        **kwargs,
    )


def production_suite(pipeline, environments, publisher, version=None):
    return services.suite_run_now(
        pipeline=pipeline,
        environment=environments["production"],
        actor=publisher,
        version=version or pipeline.versions.get(number=1),
    )


def test_gate__unprotected_environment__not_required(released, environments, editor):
    state = gate_state(released, environments["staging"], "sha256:any")
    assert state.required is False and state.open is True


def test_gate__no_test_cases__release_refused_nothing_written(released, environments, publisher):
    with pytest.raises(GateClosed, match="no test cases") as caught:
        release_to_production(released, environments, publisher)
    assert caught.value.status == 409 and caught.value.extra["gate"]["open"] is False
    assert release_live(released, environments["production"]) is None
    assert not AuditEvent.objects.filter(action="release.created", environment="production").exists()


def test_gate__suite_never_ran_on_this_config__refused(cases, released, environments, publisher):
    with pytest.raises(GateClosed, match="has not run on this exact config"):
        release_to_production(released, environments, publisher)


def test_gate__suite_passed_on_exact_config__release_goes_through_and_names_the_suite(
    cases, released, environments, publisher
):
    suite = production_suite(released, environments, publisher)
    assert suite.status == "passed"
    release = release_to_production(released, environments, publisher)
    assert release.effective_hash == suite.effective_hash
    event = AuditEvent.objects.get(action="release.created", object_id=str(release.pk))
    assert event.data["gate"] == {"result": "passed", "suite_run": suite.pk}


def test_gate__suite_passed_on_development_config_with_same_hash__counts(
    cases, released, environments, publisher
):
    # development runs v1 without an override: the same effective config production would run
    services.suite_run_now(pipeline=released, environment=environments["development"], actor=publisher)
    assert release_to_production(released, environments, publisher).pk


def test_gate__test_case_changed_after_pass__pass_void(cases, released, environments, publisher, editor):
    production_suite(released, environments, publisher)
    services.case_update(
        case=cases[2], name=cases[2].name, record={"email": "x"}, expected={"status": "failed"}, actor=editor
    )
    with pytest.raises(GateClosed, match="test cases have changed since"):
        release_to_production(released, environments, publisher)


def test_gate__suite_failed__refused_with_counts(cases, released, environments, publisher, editor):
    services.case_create(
        pipeline=released,
        name="wrong on purpose",
        record={"name": "A B"},
        expected={"status": "passed"},
        actor=editor,
    )
    suite = production_suite(released, environments, publisher)
    assert suite.status == "failed"
    with pytest.raises(GateClosed, match=r"failed on this exact config \(suite run #\d+: 1 of 4"):
        release_to_production(released, environments, publisher)


def test_gate__override_changes_the_config__earlier_pass_void(cases, released, environments, publisher):
    production_suite(released, environments, publisher)
    release_to_production(released, environments, publisher)
    patch = {"stages": {"business_rules": {"rules": {"age_verification": {"params": {"minimum_age": 21}}}}}}
    with pytest.raises(GateClosed):
        release_services.override_set(
            pipeline=released,
            environment=environments["production"],
            override=patch,
            actor=publisher,
            reason="stricter",
        )
    # testing exactly that override opens the gate for it
    suite = services.suite_run_now(
        pipeline=released, environment=environments["production"], actor=publisher, override=patch
    )
    assert (
        suite.effective_hash
        == candidate_resolve(released, environments["production"], override=patch).effective_hash
    )
    assert suite.status == "passed" and "proposed override" in suite.target
    release_services.override_set(
        pipeline=released,
        environment=environments["production"],
        override=patch,
        actor=publisher,
        reason="stricter",
    )


def test_gate__toggle_in_production__gated_too(cases, released, environments, publisher):
    production_suite(released, environments, publisher)
    release_to_production(released, environments, publisher)
    with pytest.raises(GateClosed):
        release_services.stage_toggle(
            pipeline=released,
            environment=environments["production"],
            stage="business_rules",
            enabled=False,
            actor=publisher,
            reason="outage",
        )


def test_gate__publisher_override_with_reason__released_and_audited(released, environments, publisher):
    # overriding the gate directly is refused; through a change request a second publisher approves, released
    with pytest.raises(ChangeRequestRequired):
        release_to_production(released, environments, publisher, gate_override=True)
    release = through_change_request(
        kind="release",
        pipeline=released,
        environment=environments["production"],
        actor=publisher,
        reason="quarterly release",
        version=1,
    )
    event = AuditEvent.objects.get(action="release_gate.overridden")
    assert event.object_id == str(release.pk) and event.reason.endswith(": quarterly release")
    assert "no test cases" in event.data["why_closed"]
    assert (
        AuditEvent.objects.get(action="release.created", object_id=str(release.pk)).data["gate"]["result"]
        == "overridden"
    )


def test_gate__override_without_reason__refused(released, environments, publisher):
    with pytest.raises(Exception, match="needs a reason"):
        change_submit(
            kind="release",
            pipeline=released,
            environment=environments["production"],
            actor=publisher,
            gate_override=True,
            version=1,
        )
    assert release_live(released, environments["production"]) is None
