"""Users in each role, and a small valid pipeline document."""

import copy

import pytest
from django.contrib.auth.models import Group

from pipelines_admin.configs.defaults import ensure_default_environments
from pipelines_admin.configs.models import Environment

SMALL_PIPELINE = {
    "version": "1.0",
    "stages": {
        "data_quality": {
            "enabled": True,
            "fail_fast": True,
            "parallel_execution": False,
            "timeout_seconds": 10,
            "rules": {
                "required_fields": {
                    "class": "RequiredFieldsRule",
                    "params": {"required_fields": ["name", "email"]},
                },
                "email_format": {
                    "class": "EmailFormatRule",
                    "params": {"field_name": "email"},
                    "dependencies": ["required_fields"],
                },
            },
        },
        "business_rules": {
            "enabled": True,
            "fail_fast": False,
            "parallel_execution": False,
            "timeout_seconds": 10,
            "rules": {
                "age_verification": {
                    "class": "AgeVerificationRule",
                    "params": {"minimum_age": 18, "date_field": "date_of_birth"},
                    "cross_stage_dependencies": ["required_fields"],
                },
            },
        },
    },
    "execution_settings": {"stop_on_stage_failure": True},
}


@pytest.fixture
def small_pipeline_document():
    return copy.deepcopy(SMALL_PIPELINE)


def make_user(django_user_model, username, *roles, superuser=False):
    # transactional tests flush the data migrations' rows: make sure the groups exist
    groups = [Group.objects.get_or_create(name=role)[0] for role in roles]
    user = django_user_model.objects.create_user(
        username, password=f"{username}-password-1", is_superuser=superuser, is_staff=superuser
    )
    user.groups.set(groups)
    return user


@pytest.fixture
def viewer(django_user_model):
    return make_user(django_user_model, "vic", "viewer")


@pytest.fixture
def editor(django_user_model):
    return make_user(django_user_model, "eddie", "viewer", "editor")


@pytest.fixture
def publisher(django_user_model):
    return make_user(django_user_model, "pat", "viewer", "editor", "publisher")


@pytest.fixture
def publisher2(django_user_model):
    return make_user(django_user_model, "paula", "viewer", "editor", "publisher")


@pytest.fixture
def reviewer(django_user_model):
    return make_user(django_user_model, "rita", "reviewer")


@pytest.fixture
def reviewer2(django_user_model):
    return make_user(django_user_model, "rex", "reviewer")


@pytest.fixture
def superuser(django_user_model):
    return make_user(django_user_model, "root", superuser=True)


@pytest.fixture
def environments(db):
    ensure_default_environments(Environment)
    return {e.name: e for e in Environment.objects.all()}


@pytest.fixture
def released(editor, small_pipeline_document, environments):
    """The small pipeline, version 1 live in development."""
    from pipelines_admin.configs import services as config_services
    from pipelines_admin.releases import services as release_services

    pipeline = config_services.pipeline_create(
        slug="onboarding", name="Onboarding", document=small_pipeline_document, author=editor
    )
    release_services.release_create(
        pipeline=pipeline,
        environment=environments["development"],
        version=pipeline.versions.get(),
        actor=editor,
    )
    return pipeline


# -- test cases ------------------------------------------------------------------------
ADULT = {
    "name": "Maria Garcia",
    "email": "maria.garcia@example.com",
    "date_of_birth": "1990-04-12",
    "ssn": "123-45-6789",
}
MINOR = {"name": "Tim Young", "email": "tim.young@example.com", "date_of_birth": "2015-01-01"}
BAD_EMAIL = {"name": "Ann Lee", "email": "not-an-email", "date_of_birth": "1980-01-01"}


@pytest.fixture
def cases(released, editor):
    """Three test cases of the small pipeline: an adult passes, a minor and a bad email fail."""
    from pipelines_admin.testcases import services

    make = services.case_create
    return [
        make(
            pipeline=released,
            name="adult passes",
            record=ADULT,
            actor=editor,
            expected={
                "status": "passed",
                "rules": [{"stage": "business_rules", "rule": "age_verification", "outcome": "pass"}],
                "fields": [{"field": "email", "equals": "maria.garcia@example.com"}],
            },
        ),
        make(
            pipeline=released,
            name="minor fails",
            record=MINOR,
            actor=editor,
            expected={
                "status": "failed",
                "rules": [{"stage": "business_rules", "rule": "age_verification", "outcome": "fail"}],
            },
        ),
        make(
            pipeline=released,
            name="bad email fails",
            record=BAD_EMAIL,
            actor=editor,
            expected={"status": "failed"},
        ),
    ]


def through_change_request(*, kind, pipeline, environment, actor, reason, approver=None, **payload):
    """A change overriding the release gate, as it must now be made: a change request
    (direct overrides are refused with ChangeRequestRequired) approved by a second
    publisher and applied by its author. The release it made."""
    from django.contrib.auth import get_user_model

    from pipelines_admin.changes.services import change_request_apply, change_request_approve, change_submit

    if approver is None:
        model = get_user_model()
        approver = model.objects.filter(username="second-publisher").first() or make_user(
            model, "second-publisher", "viewer", "editor", "publisher"
        )
    request = change_submit(
        kind=kind,
        pipeline=pipeline,
        environment=environment,
        actor=actor,
        reason=reason,
        gate_override=True,
        **payload,
    ).change_request
    change_request_approve(change_request=request, actor=approver)
    return change_request_apply(change_request=request, actor=actor).applied_release
