"""Releases, overrides, toggles and rollbacks (releases.services)."""

import pytest

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.configs import services
from pipelines_admin.configs.change_control import ChangeRequestRequired
from pipelines_admin.configs.models import Release
from pipelines_admin.configs.selectors import (
    effective_config,
    live_releases,
    release_live,
)
from pipelines_admin.core.errors import InvalidInput, NotAllowed, NotFound
from pipelines_admin.releases import services as release_services
from tests.pipelines_admin.configs.test_services import actions, pipeline, with_min_age  # noqa: F401  (fixture)
from tests.pipelines_admin.conftest import through_change_request

pytestmark = pytest.mark.django_db


def test_release_create__editor_to_staging__live_with_effective_hash(pipeline, editor, environments):
    # Given version 1
    v1 = pipeline.versions.get()
    # When an editor releases it to staging
    release = release_services.release_create(
        pipeline=pipeline, environment=environments["staging"], version=v1, actor=editor
    )
    # Then it is live there and only there
    assert release_live(pipeline, environments["staging"]) == release
    assert list(live_releases(pipeline)) == ["staging"]
    assert release.effective_hash == v1.content_hash
    assert actions()[-1] == "release.created"


def test_release_create__editor_to_production__not_allowed(pipeline, editor, environments):
    with pytest.raises(NotAllowed, match="protected environment production"):
        release_services.release_create(
            pipeline=pipeline,
            environment=environments["production"],
            version=pipeline.versions.get(),
            actor=editor,
            reason="go live",
        )


def test_release_create__publisher_to_production_without_reason__asked_for_one(
    pipeline, publisher, environments
):
    with pytest.raises(InvalidInput, match="give a reason"):
        release_services.release_create(
            pipeline=pipeline,
            environment=environments["production"],
            version=pipeline.versions.get(),
            actor=publisher,
        )
    # overriding the gate directly is refused: it takes a change request a second publisher approves
    with pytest.raises(ChangeRequestRequired):
        release_services.release_create(
            pipeline=pipeline,
            environment=environments["production"],
            version=pipeline.versions.get(),
            actor=publisher,
            reason="CAB-123 approved",
            gate_override=True,
        )
    release = through_change_request(
        kind="release",
        pipeline=pipeline,
        environment=environments["production"],
        actor=publisher,
        reason="CAB-123 approved",
        version=1,
    )
    assert AuditEvent.objects.get(action="release.created", object_id=str(release.pk)).reason.endswith(
        ": CAB-123 approved"
    )


def test_override_set__threshold_in_staging__effective_config_shows_provenance(
    pipeline, editor, environments
):
    # Given version 1 live in staging
    staging = environments["staging"]
    release_services.release_create(
        pipeline=pipeline, environment=staging, version=pipeline.versions.get(), actor=editor
    )
    # When staging overrides the minimum age
    patch = {"stages": {"business_rules": {"rules": {"age_verification": {"params": {"minimum_age": 21}}}}}}
    release_services.override_set(
        pipeline=pipeline, environment=staging, override=patch, actor=editor, reason="try 21"
    )
    # Then the effective config has 21, marked as coming from the override, and the rest from the base
    effective = effective_config(pipeline, staging)
    assert (
        effective.document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"]
        == 21
    )
    assert (
        effective.provenance["/stages/business_rules/rules/age_verification/params/minimum_age"] == "override"
    )
    assert effective.provenance["/stages/data_quality/fail_fast"] == "base"
    # and the version itself is untouched
    assert (
        pipeline.versions.get().document["stages"]["business_rules"]["rules"]["age_verification"]["params"][
            "minimum_age"
        ]
        == 18
    )


def test_override_set__makes_config_invalid__refused_with_problems(pipeline, editor, environments):
    staging = environments["staging"]
    release_services.release_create(
        pipeline=pipeline, environment=staging, version=pipeline.versions.get(), actor=editor
    )
    patch = {
        "stages": {"business_rules": {"rules": {"age_verification": {"params": {"minimum_age": "old"}}}}}
    }
    with pytest.raises(InvalidInput) as caught:
        release_services.override_set(pipeline=pipeline, environment=staging, override=patch, actor=editor)
    assert caught.value.extra["problems"][0]["path"].startswith(
        "/stages/business_rules/rules/age_verification/params/minimum_age"
    )
    assert Release.objects.count() == 1


def test_stage_toggle__disable_then_enable__new_releases_and_minimal_override(pipeline, editor, environments):
    # Given version 1 live in development
    dev = environments["development"]
    release_services.release_create(
        pipeline=pipeline, environment=dev, version=pipeline.versions.get(), actor=editor
    )
    # When the business_rules stage is disabled
    off = release_services.stage_toggle(
        pipeline=pipeline, environment=dev, stage="business_rules", enabled=False, actor=editor
    )
    # Then the release's override says exactly that
    assert off.kind == "toggle"
    assert off.override == {"stages": {"business_rules": {"enabled": False}}}
    assert effective_config(pipeline, dev).document["stages"]["business_rules"]["enabled"] is False
    # When enabled again / Then the override is empty again (the base already enables it)
    on = release_services.stage_toggle(
        pipeline=pipeline, environment=dev, stage="business_rules", enabled=True, actor=editor
    )
    assert on.override == {}
    assert actions()[-2:] == ["stage.toggled", "stage.toggled"]
    # and toggling to the current state is refused
    with pytest.raises(InvalidInput, match="already enabled"):
        release_services.stage_toggle(
            pipeline=pipeline, environment=dev, stage="business_rules", enabled=True, actor=editor
        )


def test_stage_toggle__rules_depend_on_it__refused_listing_them_transitively(pipeline, editor, environments):
    # Given v1 live in development, where age_verification (business_rules) needs required_fields
    dev = environments["development"]
    release_services.release_create(
        pipeline=pipeline, environment=dev, version=pipeline.versions.get(), actor=editor
    )
    releases = Release.objects.count()
    # When required_fields is turned off alone
    with pytest.raises(release_services.DependentsEnabled) as caught:
        release_services.rule_toggle(
            pipeline=pipeline,
            environment=dev,
            stage="data_quality",
            rule="required_fields",
            enabled=False,
            actor=editor,
        )
    # Then nothing changed, and every enabled rule that needs it, directly or through another, is listed
    assert caught.value.status == 409 and Release.objects.count() == releases
    assert caught.value.extra["dependents"] == [
        {"stage": "data_quality", "rule": "email_format"},
        {"stage": "business_rules", "rule": "age_verification"},
    ]


def test_rule_toggle__with_dependents__one_release_turns_all_off_and_audit_names_them(
    pipeline, editor, environments
):
    dev = environments["development"]
    release_services.release_create(
        pipeline=pipeline, environment=dev, version=pipeline.versions.get(), actor=editor
    )
    # When required_fields is turned off with its dependents
    release = release_services.rule_toggle(
        pipeline=pipeline,
        environment=dev,
        stage="data_quality",
        rule="required_fields",
        enabled=False,
        actor=editor,
        disable_dependents=True,
    )
    # Then one release turns all three off, the effective config is valid, and the audit event names them
    stages = effective_config(pipeline, dev).document["stages"]
    assert [stages["data_quality"]["rules"][r]["enabled"] for r in ("required_fields", "email_format")] == [
        False
    ] * 2
    assert stages["business_rules"]["rules"]["age_verification"]["enabled"] is False
    event = AuditEvent.objects.get(action="rule.toggled", object_id=str(release.pk))
    assert event.data["disabled_dependents"] == [
        {"stage": "data_quality", "rule": "email_format"},
        {"stage": "business_rules", "rule": "age_verification"},
    ]


def test_override_set__disables_a_stage_others_need__refused_with_the_whole_list(
    pipeline, editor, environments
):
    # Given v1 live in development
    dev = environments["development"]
    release_services.release_create(
        pipeline=pipeline, environment=dev, version=pipeline.versions.get(), actor=editor
    )
    # When an override turns data_quality off, but not the rule of business_rules that needs it
    with pytest.raises(InvalidInput) as caught:
        release_services.override_set(
            pipeline=pipeline,
            environment=dev,
            actor=editor,
            override={"stages": {"data_quality": {"enabled": False}}},
        )
    # Then it is refused, naming both rules at the dependency's pointer
    problems = caught.value.extra["problems"]
    assert [p["path"] for p in problems] == [
        "/stages/business_rules/rules/age_verification/cross_stage_dependencies/0"
    ]
    assert "'age_verification' depends on 'required_fields'" in problems[0]["message"]


def test_rule_toggle__unknown_rule__not_found(pipeline, editor, environments):
    dev = environments["development"]
    release_services.release_create(
        pipeline=pipeline, environment=dev, version=pipeline.versions.get(), actor=editor
    )
    release_services.rule_toggle(
        pipeline=pipeline,
        environment=dev,
        stage="data_quality",
        rule="email_format",
        enabled=False,
        actor=editor,
    )
    assert (
        effective_config(pipeline, dev).document["stages"]["data_quality"]["rules"]["email_format"]["enabled"]
        is False
    )
    with pytest.raises(NotFound):
        release_services.rule_toggle(
            pipeline=pipeline,
            environment=dev,
            stage="data_quality",
            rule="ghost",
            enabled=False,
            actor=editor,
        )


def test_stage_toggle__before_any_release__not_found(pipeline, editor, environments):
    with pytest.raises(NotFound, match="release a version first"):
        release_services.stage_toggle(
            pipeline=pipeline,
            environment=environments["development"],
            stage="data_quality",
            enabled=False,
            actor=editor,
        )


def test_release_rollback__to_first_release__its_version_and_override_live_again(
    pipeline, editor, environments
):
    # Given v1 released to staging, then v2 released with an override
    staging = environments["staging"]
    v1 = pipeline.versions.get()
    first = release_services.release_create(pipeline=pipeline, environment=staging, version=v1, actor=editor)
    v2 = services.config_version_create(
        pipeline=pipeline,
        document=with_min_age(v1.document, 21),
        base_version=v1,
        author=editor,
        message="21",
    )
    release_services.release_create(
        pipeline=pipeline,
        environment=staging,
        version=v2,
        actor=editor,
        override={"stages": {"data_quality": {"fail_fast": False}}},
    )
    # When rolled back to the first release
    rollback = release_services.release_rollback(
        pipeline=pipeline, environment=staging, to_release=first, actor=editor, reason="21 rejects too many"
    )
    # Then v1 with its (empty) override is live again, as a new release; history keeps all three
    assert (rollback.kind, rollback.version, rollback.override) == ("rollback", v1, {})
    assert release_live(pipeline, staging) == rollback
    assert Release.objects.filter(pipeline=pipeline, environment=staging).count() == 3
    event = AuditEvent.objects.get(action="release.rolled_back")
    assert event.reason == "21 rejects too many"
    assert (event.diff["from_version"], event.diff["to_version"]) == (2, 1)


def test_release_rollback__release_of_another_environment__not_found(pipeline, editor, environments):
    first = release_services.release_create(
        pipeline=pipeline, environment=environments["staging"], version=pipeline.versions.get(), actor=editor
    )
    with pytest.raises(NotFound):
        release_services.release_rollback(
            pipeline=pipeline, environment=environments["development"], to_release=first, actor=editor
        )


def test_release_rollback__protected_environment_without_reason__refused(pipeline, publisher, environments):
    # Given a release in production
    prod = environments["production"]
    first = through_change_request(
        kind="release", pipeline=pipeline, environment=prod, actor=publisher, reason="go live", version=1
    )
    through_change_request(
        kind="toggle",
        pipeline=pipeline,
        environment=prod,
        actor=publisher,
        reason="incident 42",
        stage="business_rules",
        rule=None,
        enabled=False,
        disable_dependents=False,
    )
    # When rolled back without a reason / Then it is refused like any other change there
    with pytest.raises(InvalidInput, match="give a reason"):
        release_services.release_rollback(
            pipeline=pipeline, environment=prod, to_release=first, actor=publisher
        )
