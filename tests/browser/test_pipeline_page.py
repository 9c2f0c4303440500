import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from playwright.sync_api import expect

from pipelines_admin.changes.models import ChangeRequest
from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.change_control import ChangeAuthority
from pipelines_admin.configs.defaults import ensure_default_environments
from pipelines_admin.configs.models import Environment
from pipelines_admin.configs.selectors import effective_config
from pipelines_admin.releases import services as release_services

pytestmark = pytest.mark.django_db(transaction=True)

#: data set-up: the releases to protected environments were approved before the test
APPROVED = ChangeAuthority("change_request", 0, ("petra",))

DOCUMENT = {
    "stages": {
        "data_quality": {
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
            }
        },
        "business_rules": {
            "rules": {
                "age_verification": {
                    "class": "AgeVerificationRule",
                    "params": {"minimum_age": 18},
                    "cross_stage_dependencies": ["required_fields"],
                }
            }
        },
    }
}


def user(django_user_model, username, *roles):
    account = django_user_model.objects.create_user(username, password="correct horse battery")
    account.groups.set([Group.objects.get_or_create(name=r)[0] for r in roles])
    return account


@pytest.fixture
def released(django_user_model):
    """A pipeline released to every environment (production by a publisher)."""
    ensure_default_environments(Environment)
    publisher = user(django_user_model, "paula", "viewer", "editor", "publisher")
    pipeline = config_services.pipeline_create(
        slug="signup", name="Signup", document=DOCUMENT, author=publisher
    )
    for environment in Environment.objects.all():
        release_services.release_create(
            pipeline=pipeline,
            environment=environment,
            version=pipeline.versions.get(),
            actor=publisher,
            reason="first release",
            gate_override=True,
            authority=APPROVED,
        )
    return pipeline


def test_matrix__publisher_toggles_stage_in_production__asked_for_a_reason_and_matrix_updated_in_place(
    login, live_server, released
):
    # Given a publisher on the pipeline page
    page = login("paula", "correct horse battery")
    page.goto(f"{live_server.url}/pipelines/signup/")
    expect(page.get_by_role("heading", name="Stages and rules")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    matrix = page.locator("#matrix")
    # When she turns business_rules off in production
    matrix.get_by_label("Turn off stage business_rules in production").click()
    # Then she is asked why, and cannot go on without saying
    reason = matrix.get_by_label("Why turn off business_rules in production?")
    expect(reason).to_be_visible()
    expect(reason).to_be_focused()
    matrix.get_by_role("button", name="Turn off", exact=True).click()
    expect(reason).to_be_visible()
    assert page.evaluate("document.querySelector('#matrix input[name=reason]:invalid') !== null")
    reason.fill("credit bureau outage")
    matrix.get_by_role("button", name="Turn off", exact=True).click()
    # Then the release gate stops it (no test suite passed on that config), asking again with her reason
    expect(matrix.locator("details[open]").get_by_role("alert")).to_contain_text("Release gate:")
    expect(matrix.get_by_label("Why turn off business_rules in production?")).to_have_value(
        "credit bureau outage"
    )
    # When she releases it anyway
    matrix.locator("details[open] input[name=gate_override]").check()
    matrix.get_by_role("button", name="Turn off", exact=True).click()
    # Then overriding the gate opens a change request for a second publisher: she is
    # taken to it, and production has not changed
    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))
    assert page.url.endswith(f"/changes/{ChangeRequest.objects.get().pk}/")
    expect(page.locator(".messages")).to_contain_text(
        "overriding the release gate needs 1 approval from another publisher"
    )
    production = effective_config(released, Environment.objects.get(name="production"))
    assert production.document["stages"]["business_rules"].get("enabled", True) is True


def test_matrix__viewer__sees_states_read_only(login, live_server, released, django_user_model):
    # Given a viewer
    user(django_user_model, "vince", "viewer")
    page = login("vince", "correct horse battery")
    # When she opens the pipeline page
    page.goto(f"{live_server.url}/pipelines/signup/")
    matrix = page.locator("#matrix")
    # Then every cell shows its state and none can be changed
    expect(matrix.locator(".state.on")).to_have_count(5 * 3)
    expect(matrix.locator("button, summary")).to_have_count(0)
    expect(matrix.get_by_text("read-only")).to_have_count(3)
    # and the graph links each rule to its editor
    expect(page.locator('a.node[data-rule="email_format"]')).to_have_attribute(
        "href",
        reverse(
            "console:rule-edit", kwargs={"slug": "signup", "stage": "data_quality", "rule": "email_format"}
        ),
    )


def test_matrix__stage_others_depend_on__consequences_listed_then_cancel_or_turn_all_off(
    login, live_server, released
):
    # Given a publisher on the pipeline page, where age_verification needs data_quality's required_fields
    page = login("paula", "correct horse battery")
    page.goto(f"{live_server.url}/pipelines/signup/")
    page.evaluate("window.notReloaded = true")
    matrix = page.locator("#matrix")
    # When she turns data_quality off in development
    matrix.get_by_label("Turn off stage data_quality in development").click()
    # Then nothing changed yet: the matrix lists the rule that would be left unable to run
    dialog = matrix.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Turn off stage data_quality in development?")
    expect(dialog).to_contain_text("business_rules/age_verification")
    stages = effective_config(released, Environment.objects.get(name="development")).document["stages"]
    assert stages["data_quality"].get("enabled", True) is True
    # When she cancels, the question goes and everything stays on
    dialog.get_by_role("link", name="Cancel: keep everything on").click()
    expect(matrix.get_by_role("alertdialog")).to_have_count(0)
    # When she asks again and turns both off
    matrix.get_by_label("Turn off stage data_quality in development").click()
    matrix.get_by_role("button", name="Turn off data_quality and this rule").click()
    # Then one release turns off both, said in place, without a reload
    expect(matrix.locator(".notice")).to_contain_text(
        "Stage data_quality turned off in development, with business_rules/age_verification"
    )
    stages = effective_config(released, Environment.objects.get(name="development")).document["stages"]
    assert stages["data_quality"]["enabled"] is False
    assert stages["business_rules"]["rules"]["age_verification"]["enabled"] is False
    assert page.evaluate("window.notReloaded") is True
