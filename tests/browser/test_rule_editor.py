import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.defaults import ensure_default_environments
from pipelines_admin.configs.models import Environment
from pipelines_admin.demo.pipelines import example_document

pytestmark = pytest.mark.django_db(transaction=True)


def test_rule_editor__out_of_bounds_minimum_typed_then_fixed__error_beside_field_then_new_version(
    login, live_server, django_user_model
):
    # Given an editor and the customer onboarding pipeline (credit score minimum 650, allowed 300 to 850)
    ensure_default_environments(Environment)
    editor = django_user_model.objects.create_user("erin", password="correct horse battery")
    editor.groups.set([Group.objects.get_or_create(name=r)[0] for r in ("viewer", "editor")])
    pipeline = config_services.pipeline_create(
        slug="onboarding",
        name="Onboarding",
        author=editor,
        document=example_document("customer_onboarding.json"),
    )
    page = login("erin", "correct horse battery")
    # When she opens the credit score rule from the config editor
    page.goto(f"{live_server.url}/pipelines/onboarding/edit/")
    page.get_by_role("link", name="credit_score_check").click()
    expect(page.get_by_role("heading", name="Rule credit_score_check")).to_be_visible()
    minimum = page.get_by_label("Minimum score")
    expect(minimum).to_have_value("650")
    # And types a minimum above the maximum
    minimum.fill("")
    minimum.press_sequentially("900", delay=30)
    # Then an error appears beside the field while she is still in it
    error = page.locator("#err-f-p-minimum_score")
    expect(error).to_contain_text("must be at most 850")
    expect(minimum).to_have_attribute("aria-invalid", "true")
    expect(minimum).to_be_focused()
    expect(minimum).to_have_value("900")
    # When she corrects it
    minimum.fill("700")
    # Then the error goes away
    expect(error).to_have_text("")
    expect(minimum).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#validation-status")).to_contain_text("No problems")
    # When she saves with a message
    page.locator("#message").fill("Raise the minimum credit score to 700")
    page.get_by_role("button", name="Save as new version").click()
    # Then she is back on the pipeline, told the new version's number, and version 2 has the new minimum
    expect(page.locator(".messages")).to_contain_text(
        "Saved version 2: Raise the minimum credit score to 700"
    )
    version = pipeline.versions.order_by("-number").first()
    assert version.number == 2 and version.author == editor
    assert version.document["stages"]["business_rules"]["rules"]["credit_score_check"]["params"] == {
        "credit_bureau": "service:CreditBureau:experian",
        "minimum_score": 700,
        "score_model": "FICO_8",
    }


def test_rule_editor__bad_ages_typed_then_saved_without_message__labels_in_errors_and_not_saved_status(
    login, live_server, django_user_model
):
    # Given an editor on the age rule of the customer onboarding pipeline (minimum age 18, allowed 0 to 130)
    ensure_default_environments(Environment)
    editor = django_user_model.objects.create_user("erin", password="correct horse battery")
    editor.groups.set([Group.objects.get_or_create(name=r)[0] for r in ("viewer", "editor")])
    pipeline = config_services.pipeline_create(
        slug="onboarding",
        name="Onboarding",
        author=editor,
        document=example_document("customer_onboarding.json"),
    )
    page = login("erin", "correct horse battery")
    page.goto(f"{live_server.url}/pipelines/onboarding/stages/business_rules/rules/age_verification/edit/")
    age = page.get_by_label("Minimum age")
    error = page.locator("#err-f-p-minimum_age")
    status = page.locator("#validation-status")
    # When she types a negative age
    age.fill("-1")
    # Then the error names the field as its label does, not by its key
    expect(error).to_have_text("Minimum age must be at least 0; it is -1.")
    # When she types words, the example it gives is an age
    age.fill("old enough")
    expect(error).to_have_text("Enter a whole number, like 18 (not 'old enough').")
    # When she fixes it and saves without a message
    age.fill("21")
    expect(status).to_have_text("No problems.")
    page.get_by_role("button", name="Save as new version").click()
    # Then the message is asked for and the status says it was not saved, not "No problems."
    expect(page.locator("#err-message")).to_contain_text("every version has a message")
    expect(status).to_contain_text("Not saved")
    expect(status).not_to_contain_text("No problems")
    # When she changes the age again, the message still empty, the status still says what is missing
    age.fill("20")
    expect(status).to_contain_text("add a message")
    expect(page.locator("#err-message")).to_contain_text("every version has a message")
    # When she types the message, the refusal's error goes and the form is ready
    page.locator("#message").fill("Minimum age 20")
    expect(status).to_have_text("No problems.")
    expect(page.locator("#err-message")).to_have_text("")
    page.get_by_role("button", name="Save as new version").click()
    expect(page.locator(".messages")).to_contain_text("Saved version 2: Minimum age 20")
    assert (
        pipeline.versions.order_by("-number")
        .first()
        .document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"]
        == 20
    )
