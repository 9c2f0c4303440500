"""The console's error boundary: a domain error a console view lets through (not found,
not allowed, changed meanwhile, not accepted) becomes the console's error page with its
status; an htmx request gets the error as a fragment with that status and a reload of
the page, which then shows the message."""

import pytest
from django.urls import reverse

from pipelines_admin.configs import services as config_services
from pipelines_admin.demo.pipelines import example_document
from pipelines_admin.testcases import services as case_services
from pipelines_admin.testcases.models import TestCase

pytestmark = pytest.mark.django_db

SLUG = "onboarding"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def pipeline(editor, environments):
    return config_services.pipeline_create(
        slug=SLUG, name="Onboarding", author=editor, document=example_document("customer_onboarding.json")
    )


def url(name, **kwargs):
    return reverse(f"console:{name}", kwargs={"slug": SLUG, **kwargs})


def move_down(client, base_version=1, direction="down"):
    return client.post(
        url("rule-move", stage="compliance", rule="kyc_identity_verification"),
        {"base_version": base_version, "direction": direction},
    )


def test_unknown_pipeline__console_404_page(client, viewer, environments):
    # Given a viewer
    client.force_login(viewer)
    # When she opens a pipeline that does not exist
    response = client.get(reverse("console:pipeline-detail", kwargs={"slug": "nope"}))
    # Then the console's page says so, with its navigation
    html = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in html and "There is no pipeline &#x27;nope&#x27;" in html
    assert 'class="mainnav"' in html and "Back to the pipelines" in html


def test_viewer_posts_an_editor_action__403_page_nothing_saved(client, viewer, pipeline):
    # Given a viewer, who may not save versions
    client.force_login(viewer)
    # When she posts a rule move anyway
    response = move_down(client)
    # Then the console's 403 page says why, and no version was made
    html = response.content.decode()
    assert response.status_code == 403
    assert "<h1>Not allowed</h1>" in html and "does not allow" in html
    assert pipeline.versions.count() == 1


def test_stale_edit__409_page_with_what_changed(client, editor, pipeline):
    # Given someone saved version 2 while the editor looked at version 1
    document = pipeline.versions.get().document
    stage = document["stages"]["compliance"]
    stage["fail_fast"] = not stage.get("fail_fast", False)
    config_services.config_version_create(
        pipeline=pipeline,
        document=document,
        base_version=pipeline.versions.get(),
        author=editor,
        message="someone else's change",
    )
    client.force_login(editor)
    # When she moves a rule from version 1
    response = move_down(client, base_version=1)
    # Then nothing is saved, and the page shows the conflict: what changed since
    html = response.content.decode()
    assert response.status_code == 409 and pipeline.versions.count() == 2
    assert "<h1>Changed meanwhile</h1>" in html and 'id="conflict"' in html
    assert "Version 2 was saved after the version 1 you started from" in html
    assert "Stage compliance: fail_fast" in html.split('id="conflict"')[1]


def test_invalid_request__400_page_with_the_message(client, editor, pipeline):
    client.force_login(editor)
    response = move_down(client, direction="sideways")
    html = response.content.decode()
    assert response.status_code == 400
    assert "<h1>Not accepted</h1>" in html and "Say which way to move the rule: up or down." in html


def test_htmx_request__unknown_pipeline__404_fragment_and_reload(client, viewer, environments):
    client.force_login(viewer)
    response = client.get(reverse("console:pipeline-detail", kwargs={"slug": "nope"}), **HTMX)
    html = response.content.decode()
    assert response.status_code == 404 and response["HX-Refresh"] == "true"
    assert 'id="problem"' in html and "There is no pipeline &#x27;nope&#x27;" in html and "<html" not in html


def test_htmx_request__refused__403_and_the_reloaded_page_says_why(client, viewer, pipeline):
    # Given a viewer on the editor
    client.force_login(viewer)
    # When an htmx request of hers is refused
    response = client.post(
        url("rule-move", stage="compliance", rule="kyc_identity_verification"),
        {"base_version": 1, "direction": "down"},
        **HTMX,
    )
    # Then it answers 403 and asks for a reload, and the reloaded page shows the message
    assert response.status_code == 403 and response["HX-Refresh"] == "true"
    assert "does not allow" in client.get(url("config-edit")).content.decode()


def test_invalid_candidate__400_page_lists_each_problem(client, editor, released):
    # Given an editor, and a pipeline live in development
    client.force_login(editor)
    # When she runs the test cases on an override that makes its config invalid there
    response = client.post(
        reverse("console:suite-run-start", kwargs={"slug": SLUG}),
        {"environment": "development", "use_override": "true", "override": '{"stages": {"ghost": {}}}'},
    )
    # Then the page says it is not valid, listing the problems with their paths
    html = response.content.decode()
    assert response.status_code == 400 and "<h1>Not accepted</h1>" in html
    assert "That config is not valid in development" in html
    assert '<ul class="problems"><li><code>' in html


def test_test_case_deleted_from_a_stale_page__412_page_says_who_changed_it(client, editor, cases):
    # Given an editor who drew the page of a test case before someone renamed it
    case = cases[0]
    drawn = case_services.case_revision(case)
    record, expected = case_services.case_content(case)
    case_services.case_update(
        case=case,
        name="renamed",
        record=record,
        expected=expected,
        description="",
        actor=editor,
        base_revision=drawn,
    )
    client.force_login(editor)
    # When she deletes it from that page
    response = client.post(
        reverse("console:test-case-delete", kwargs={"slug": SLUG, "case_id": case.pk}),
        {"base_revision": drawn},
    )
    # Then nothing is deleted, and the page says who changed it meanwhile
    html = response.content.decode()
    assert response.status_code == 412 and "<h1>Changed meanwhile</h1>" in html
    assert f"Changed by <strong>{editor.username}</strong>" in html
    assert TestCase.objects.filter(pk=case.pk).exists()
