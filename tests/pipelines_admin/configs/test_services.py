import copy

import pytest

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.audit.services import audit_verify
from pipelines_admin.configs import services
from pipelines_admin.configs.models import ConfigVersion, ImmutableError, Release
from pipelines_admin.configs.selectors import (
    effective_config,
    environments_diff,
    versions_diff,
)
from pipelines_admin.core.errors import Conflict, InvalidInput, NotAllowed
from pipelines_admin.releases import services as release_services
from tests.pipelines_admin.conftest import through_change_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipeline(editor, small_pipeline_document):
    return services.pipeline_create(
        slug="onboarding", name="Onboarding", document=small_pipeline_document, author=editor
    )


def with_min_age(document, age):
    changed = copy.deepcopy(document)
    changed["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = age
    return changed


def actions():
    return list(AuditEvent.objects.order_by("sequence").values_list("action", flat=True))


# --- versions ---------------------------------------------------------------------------


def test_pipeline_create__valid_document__version_1_and_audit(pipeline, editor):
    # Given / When a pipeline is created (fixture)
    version = pipeline.versions.get()
    # Then it has version 1 with the document's content hash, and two audit events
    assert version.number == 1 and version.parent is None and version.author == editor
    assert version.content_hash.startswith("sha256:")
    assert actions() == ["pipeline.created", "config_version.created"]


def test_config_version_create__based_on_latest__next_number_with_parent_and_diff(pipeline, editor):
    # Given version 1
    v1 = pipeline.versions.get()
    # When an editor saves a change based on it
    v2 = services.config_version_create(
        pipeline=pipeline,
        document=with_min_age(v1.document, 21),
        base_version=v1,
        author=editor,
        message="Raise the minimum age",
    )
    # Then version 2 points at version 1 and the audit event carries the semantic diff
    assert (v2.number, v2.parent_id, v2.message) == (2, v1.pk, "Raise the minimum age")
    event = AuditEvent.objects.get(action="config_version.created", object_id=str(v2.pk))
    assert event.diff["changes"][0]["summary"] == "Rule age_verification: minimum_age 18 → 21."
    assert event.reason == "Raise the minimum age"


def test_config_version_create__stale_base__conflict_with_diff_and_nothing_written(
    pipeline, editor, publisher
):
    # Given two people start from version 1 and the first saves version 2
    v1 = pipeline.versions.get()
    services.config_version_create(
        pipeline=pipeline,
        document=with_min_age(v1.document, 21),
        base_version=v1,
        author=editor,
        message="21",
    )
    # When the second saves, still based on version 1
    with pytest.raises(Conflict) as caught:
        services.config_version_create(
            pipeline=pipeline,
            document=with_min_age(v1.document, 25),
            base_version=v1,
            author=publisher,
            message="25",
        )
    # Then nothing is written and the conflict shows what version 2 changed
    assert pipeline.versions.count() == 2
    extra = caught.value.extra
    assert (extra["base_version"], extra["latest_version"]) == (1, 2)
    assert extra["changes"][0]["after"] == 21
    assert '+            "minimum_age": 21' in extra["text_diff"]


def test_config_version_create__message_too_long__refused_nothing_written(pipeline, editor):
    # Given a change with a message longer than a version keeps / When saved
    # Then refused naming the field (not a database error on PostgreSQL), no version written
    document = copy.deepcopy(pipeline.versions.get().document)
    document["stages"]["data_quality"]["timeout_seconds"] = 20
    with pytest.raises(InvalidInput, match="at most 500 characters") as refused:
        services.config_version_create(
            pipeline=pipeline,
            document=document,
            base_version=pipeline.versions.get(),
            author=editor,
            message="x" * 501,
        )
    assert refused.value.extra["fields"] == {"message": ["at most 500 characters"]}
    assert pipeline.versions.count() == 1


def test_config_version_create__invalid_document__every_problem_with_path(pipeline, editor):
    # Given a document with two problems: an unknown class and an unknown dependency
    v1 = pipeline.versions.get()
    broken = copy.deepcopy(v1.document)
    broken["stages"]["data_quality"]["rules"]["email_format"]["class"] = "NoSuchRule"
    broken["stages"]["data_quality"]["rules"]["email_format"]["dependencies"] = ["nope"]
    # When saved
    with pytest.raises(InvalidInput) as caught:
        services.config_version_create(
            pipeline=pipeline, document=broken, base_version=v1, author=editor, message="broken"
        )
    # Then both problems come back with their JSON-pointer paths, and nothing is saved
    paths = [p["path"] for p in caught.value.extra["problems"]]
    assert "/stages/data_quality/rules/email_format/class" in paths
    assert any(p.startswith("/stages/data_quality/rules/email_format/dependencies") for p in paths)
    assert pipeline.versions.count() == 1


def test_config_version_create__customer_message_quotes_a_field_the_pipeline_marks_pii__refused(
    pipeline, editor
):
    # Given a pipeline that marks "state" as personal data, and a message to applicants quoting it
    pipeline.pii_fields = ["state", "ssn"]
    pipeline.save()
    v1 = pipeline.versions.get()
    quoting = copy.deepcopy(v1.document)
    quoting["stages"]["data_quality"]["customer_message"] = "We could not check your {state} details."
    # When saved
    with pytest.raises(InvalidInput) as caught:
        services.config_version_create(
            pipeline=pipeline, document=quoting, base_version=v1, author=editor, message="quote state"
        )
    # Then the message is refused at its path, naming the field, and nothing is saved
    assert [p["path"] for p in caught.value.extra["problems"]] == ["/stages/data_quality/customer_message"]
    assert "{state}" in caught.value.extra["problems"][0]["message"]
    assert pipeline.versions.count() == 1


def test_config_version_create__viewer__not_allowed(pipeline, viewer):
    v1 = pipeline.versions.get()
    with pytest.raises(NotAllowed):
        services.config_version_create(
            pipeline=pipeline,
            document=with_min_age(v1.document, 30),
            base_version=v1,
            author=viewer,
            message="no",
        )


def test_config_version_create__unchanged_or_without_message__refused(pipeline, editor):
    v1 = pipeline.versions.get()
    with pytest.raises(InvalidInput, match="Nothing changed"):
        services.config_version_create(
            pipeline=pipeline, document=v1.document, base_version=v1, author=editor, message="same"
        )
    with pytest.raises(InvalidInput, match="needs a message"):
        services.config_version_create(
            pipeline=pipeline,
            document=with_min_age(v1.document, 19),
            base_version=v1,
            author=editor,
            message="  ",
        )


def test_config_version__saved__cannot_be_edited_or_deleted(pipeline):
    version = pipeline.versions.get()
    version.message = "rewritten history"
    with pytest.raises(ImmutableError):
        version.save()
    with pytest.raises(ImmutableError):
        version.delete()


def test_service_binding_set__http_binding__validated_audited_and_used_for_validation(
    pipeline, editor, environments
):
    # Given an HTTP binding without a URL / Then it is refused
    dev = environments["development"]
    with pytest.raises(InvalidInput, match="needs a URL"):
        services.service_binding_set(
            environment=dev, interface="KYCService", name="jumio", actor=editor, kind="http"
        )
    # When a proper one is set, with the secret named by an environment variable
    binding = services.service_binding_set(
        environment=dev,
        interface="KYCService",
        name="jumio",
        actor=editor,
        kind="http",
        url="http://127.0.0.1:9/kyc",
        secret_env="JUMIO_KEY",
    )
    # Then it is stored without any secret value, and audited
    assert (binding.kind, binding.secret_env) == ("http", "JUMIO_KEY")
    event = AuditEvent.objects.get(action="service_binding.set")
    assert event.diff["after"]["url"] == "http://127.0.0.1:9/kyc"
    with pytest.raises(InvalidInput):
        services.service_binding_set(
            environment=dev,
            interface="KYCService",
            name="jumio",
            actor=editor,
            secret_env="lower-case not allowed",
        )


def test_environment_create__publisher_adds_one__editor_cannot(publisher, editor):
    env = services.environment_create(name="uat", actor=publisher, description="User acceptance")
    assert env.name == "uat" and not env.protected
    with pytest.raises(NotAllowed):
        services.environment_create(name="sandbox", actor=editor)
    with pytest.raises(Conflict):
        services.environment_create(name="uat", actor=publisher)


def test_every_change__audit_chain__still_verifies(pipeline, editor, publisher, environments):
    # Given a day of changes
    v1 = pipeline.versions.get()
    release_services.release_create(
        pipeline=pipeline, environment=environments["staging"], version=v1, actor=editor
    )
    release_services.stage_toggle(
        pipeline=pipeline,
        environment=environments["staging"],
        stage="business_rules",
        enabled=False,
        actor=editor,
    )
    through_change_request(
        kind="release",
        pipeline=pipeline,
        environment=environments["production"],
        version=v1.number,
        actor=publisher,
        reason="go live",
    )
    # Then every change has an event, in order, and the chain verifies
    assert actions() == [
        "pipeline.created",
        "config_version.created",
        "release.created",
        "stage.toggled",
        "change_request.opened",
        "change_request.approved",
        "release.created",
        "release_gate.overridden",
        "change_request.applied",
    ]
    assert audit_verify() == (9, [])


def test_failed_change__audit__nothing_recorded(pipeline, editor, environments):
    # Given a change that fails validation inside the transaction
    before = AuditEvent.objects.count()
    with pytest.raises(InvalidInput):
        release_services.release_create(
            pipeline=pipeline,
            environment=environments["staging"],
            version=pipeline.versions.get(),
            actor=editor,
            override={"stages": {"data_quality": {"rules": {"required_fields": {"class": "X"}}}}},
        )
    # Then no release and no audit event were written
    assert AuditEvent.objects.count() == before
    assert not Release.objects.exists()
    assert ConfigVersion.objects.count() == 1


def test_environments_diff__staging_overrides_age__one_param_change(pipeline, editor, environments):
    # Given v1 live in development and staging, staging with an override
    v1 = pipeline.versions.get()
    for name in ("development", "staging"):
        release_services.release_create(
            pipeline=pipeline, environment=environments[name], version=v1, actor=editor
        )
    patch = {"stages": {"business_rules": {"rules": {"age_verification": {"params": {"minimum_age": 21}}}}}}
    release_services.override_set(
        pipeline=pipeline, environment=environments["staging"], override=patch, actor=editor
    )
    # When the two environments are compared
    diff = environments_diff(pipeline, environments["development"], environments["staging"])
    # Then the one difference is the age, and the text diff is labelled by environment
    assert [c["summary"] for c in diff.changes] == ["Rule age_verification: minimum_age 18 → 21."]
    assert diff.text.startswith("--- development\n+++ staging\n")


def test_versions_diff__two_versions__labelled_changes(pipeline, editor):
    v1 = pipeline.versions.get()
    v2 = services.config_version_create(
        pipeline=pipeline,
        document=with_min_age(v1.document, 30),
        base_version=v1,
        author=editor,
        message="30",
    )
    diff = versions_diff(v1, v2)
    assert (diff.before_label, diff.after_label) == ("v1", "v2")
    assert diff.changes[0]["after"] == 30


def test_config_version__stages_not_in_alphabetical_order__order_kept_after_saving(editor, environments):
    # Given a document whose stages and rules are deliberately not in alphabetical order
    document = {
        "stages": {
            "zeta": {
                "rules": {
                    "z_rule": {"class": "RequiredFieldsRule", "params": {"required_fields": ["a"]}},
                    "a_rule": {"class": "RequiredFieldsRule", "params": {"required_fields": ["b"]}},
                }
            },
            "alpha": {
                "rules": {"m_rule": {"class": "RequiredFieldsRule", "params": {"required_fields": ["c"]}}}
            },
        }
    }
    # When saved and read back from the database (PostgreSQL's jsonb would sort the keys)
    pipeline = services.pipeline_create(slug="ordered", name="Ordered", document=document, author=editor)
    version = ConfigVersion.objects.get(pk=pipeline.versions.get().pk)
    # Then the stages and rules come back in the author's order, and so does the effective config
    assert list(version.document["stages"]) == ["zeta", "alpha"]
    assert list(version.document["stages"]["zeta"]["rules"]) == ["z_rule", "a_rule"]
    release_services.release_create(
        pipeline=pipeline, environment=environments["development"], version=version, actor=editor
    )
    assert list(effective_config(pipeline, environments["development"]).document["stages"]) == [
        "zeta",
        "alpha",
    ]


def test_config_version_create__only_the_rule_order_changed__saved_as_a_new_version(pipeline, editor):
    # Given version 1 / When only the order of the data-quality rules changes
    v1 = pipeline.versions.get()
    reordered = copy.deepcopy(v1.document)
    rules = reordered["stages"]["data_quality"]["rules"]
    reordered["stages"]["data_quality"]["rules"] = {name: rules[name] for name in reversed(list(rules))}
    v2 = services.config_version_create(
        pipeline=pipeline,
        document=reordered,
        base_version=v1,
        author=editor,
        message="email check listed first",
    )
    # Then it is a new version (order is part of the config), with its own hash, read back in that order
    assert v2.content_hash != v1.content_hash
    assert list(ConfigVersion.objects.get(pk=v2.pk).document["stages"]["data_quality"]["rules"]) == [
        "email_format",
        "required_fields",
    ]
