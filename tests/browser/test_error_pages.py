"""The console's error pages as a user meets them: a page that does not exist, and a
change refused because someone else changed the config meanwhile."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.defaults import ensure_default_environments
from pipelines_admin.configs.models import Environment
from pipelines_admin.demo.pipelines import example_document

pytestmark = pytest.mark.django_db(transaction=True)


def _editor(django_user_model):
    ensure_default_environments(Environment)
    editor = django_user_model.objects.create_user("erin", password="correct horse battery")
    editor.groups.set([Group.objects.get_or_create(name=r)[0] for r in ("viewer", "editor")])
    return editor


def test_unknown_pipeline__console_404_page_with_its_navigation(login, live_server, django_user_model):
    # Given an editor
    _editor(django_user_model)
    page = login("erin", "correct horse battery")
    # When she opens a pipeline that does not exist
    response = page.goto(f"{live_server.url}/pipelines/nope/")
    # Then the console says so, and she can go on from there
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("There is no pipeline 'nope'.")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("link", name="Back to the pipelines")).to_have_attribute("href", "/")


def test_rule_moved_on_an_old_version__409_page_with_what_changed(login, live_server, django_user_model):
    # Given an editor on the config editor of version 1
    editor = _editor(django_user_model)
    pipeline = config_services.pipeline_create(
        slug="onboarding",
        name="Onboarding",
        author=editor,
        document=example_document("customer_onboarding.json"),
    )
    page = login("erin", "correct horse battery")
    page.goto(f"{live_server.url}/pipelines/onboarding/edit/")
    # And someone saves version 2 meanwhile
    document = pipeline.versions.get().document
    document["stages"]["compliance"]["fail_fast"] = not document["stages"]["compliance"].get(
        "fail_fast", False
    )
    config_services.config_version_create(
        pipeline=pipeline,
        document=document,
        base_version=pipeline.versions.get(),
        author=editor,
        message="stop compliance at the first failure",
    )
    # When she moves a rule down on the page drawn from version 1
    page.get_by_role("button", name="Move kyc_identity_verification down").click()
    # Then nothing is saved, and the page says what changed since, with a way back
    expect(page.get_by_role("heading", name="Changed meanwhile")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(
        "Version 2 was saved after the version 1 you started from"
    )
    expect(page.locator("#conflict")).to_contain_text("Stage compliance: fail_fast")
    assert pipeline.versions.count() == 2
    expect(page.get_by_role("link", name="Back to the page you came from")).to_have_attribute(
        "href", f"{live_server.url}/pipelines/onboarding/edit/"
    )
