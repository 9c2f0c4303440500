import json

import pytest
from django.urls import reverse

from pipelines_admin.configs import services as config_services
from pipelines_admin.releases import services as release_services
from pipelines_admin.runs.models import Run
from pipelines_admin.runs.services import run_execute

pytestmark = pytest.mark.django_db

APPLICANT = {"name": "Maria Garcia", "email": "maria.garcia@example.com", "date_of_birth": "1990-04-12"}


@pytest.fixture
def released(editor, small_pipeline_document, environments):
    pipeline = config_services.pipeline_create(
        slug="onboarding", name="Onboarding", document=small_pipeline_document, author=editor
    )
    for name in ("development", "staging"):
        release_services.release_create(
            pipeline=pipeline, environment=environments[name], version=pipeline.versions.get(), actor=editor
        )
    return pipeline


def try_url():
    return reverse("console:try-run", kwargs={"slug": "onboarding"})


def test_try_page__sample_chosen__form_prefilled_with_it(client, editor, released):
    client.force_login(editor)
    html = client.get(try_url() + "?sample=sanctions-hit").content.decode()
    assert (
        "Viktor" in html
        and 'class="current"><a href="?sample=sanctions-hit&amp;environment=development"' in html
    )


def test_try_page__valid_application__queued_and_redirected_to_the_run(client, editor, released):
    client.force_login(editor)
    response = client.post(
        try_url(), {"environment": "development", "version": "", "record": json.dumps(APPLICANT)}
    )
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/{run.pk}/"
    assert run.source == "browser" and run.stages is None


def test_try_page__broken_json__error_beside_the_field_and_text_kept(client, editor, released):
    client.force_login(editor)
    response = client.post(try_url(), {"environment": "development", "record": '{"name": "Ann",}'})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Not valid JSON" in html and "line 1, column" in html
    assert "&quot;name&quot;: &quot;Ann&quot;," in html  # what was typed is still there
    assert not Run.objects.exists()


def test_try_page__chosen_version_and_stage__run_pinned(client, editor, released):
    client.force_login(editor)
    client.post(
        try_url(),
        {
            "environment": "development",
            "version": "1",
            "stages": ["data_quality"],
            "record": json.dumps(APPLICANT),
        },
    )
    run = Run.objects.get()
    assert run.release_id is None and run.config_version.number == 1 and run.stages == ["data_quality"]


def test_rerun__other_environment__side_by_side_comparison(client, editor, released):
    # Given a finished run in development
    client.force_login(editor)
    client.post(try_url(), {"environment": "development", "record": json.dumps(APPLICANT)})
    first = run_execute(Run.objects.get().pk)
    # When it is run again in staging
    response = client.post(reverse("console:rerun", kwargs={"run_id": first.pk}), {"environment": "staging"})
    second = Run.objects.exclude(pk=first.pk).get()
    # Then the comparison page shows both, and polls until the second finishes
    assert response["Location"] == f"/runs/compare/?a={first.pk}&b={second.pk}"
    html = client.get(response["Location"]).content.decode()
    assert "staging" in html and 'hx-trigger="every 1s"' in html
    run_execute(second.pk)
    html = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' not in html and "required_fields" in html


def test_try_page__viewer__refused(client, viewer, released):
    client.force_login(viewer)
    response = client.post(try_url(), {"environment": "development", "record": json.dumps(APPLICANT)})
    assert response.status_code == 403 and not Run.objects.exists()


def test_try_page__viewer__note_instead_of_the_form(client, viewer, released):
    # Given a viewer / When the try page is opened
    client.force_login(viewer)
    html = client.get(try_url()).content.decode()
    # Then no form is offered; a note says who can submit runs
    assert "Run on the worker" not in html and "<textarea" not in html
    assert "Submitting runs needs the editor role; ask an administrator." in html


def test_try_page__editor__form_without_note(client, editor, released):
    client.force_login(editor)
    html = client.get(try_url()).content.decode()
    assert "Run on the worker" in html and "needs the editor role" not in html


# -- the samples' descriptions follow the config --------------------------------------------


def sample_descriptions(html):
    """Sample name -> its description, from the try page's list of samples."""
    import re

    return {
        name: text
        for name, text in re.findall(
            r'<a href="\?sample=[\w-]+[^"]*">([^<]+)</a>\s*<p class="small muted">([^<]*)</p>', html
        )
    }


def test_try_page__minimum_age_overridden__minor_sample_described_with_the_new_minimum(
    client, editor, released, environments
):
    # Given the age check's minimum raised to 21 by development's override
    release_services.override_set(
        pipeline=released,
        environment=environments["development"],
        actor=editor,
        override={
            "stages": {"business_rules": {"rules": {"age_verification": {"params": {"minimum_age": 21}}}}}
        },
    )
    # When an editor opens the try page (development is its environment)
    client.force_login(editor)
    html = client.get(try_url()).content.decode()
    # Then the Minor sample is described against that config, its age counted from today
    minor = sample_descriptions(html)["Minor"]
    assert "the age check requires 21" in minor and "minimum age of 18" not in minor
    assert "year-old applicant (born 2010-06-01)" in minor
    # while staging, which has no override, still asks for 18
    html = client.get(try_url() + "?environment=staging").content.decode()
    assert "the age check requires 18" in sample_descriptions(html)["Minor"]


def test_try_page__new_version_released__descriptions_follow_it(
    client, editor, released, environments, small_pipeline_document
):
    # Given a version 2 with the minimum age at 16 and without the required-fields check, live in development
    document = json.loads(json.dumps(small_pipeline_document))
    document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = 16
    document["stages"]["business_rules"]["rules"]["age_verification"].pop("cross_stage_dependencies")
    del document["stages"]["data_quality"]
    v2 = config_services.config_version_create(
        pipeline=released,
        document=document,
        base_version=released.versions.get(number=1),
        author=editor,
        message="Minimum age 16, no required fields",
    )
    release_services.release_create(
        pipeline=released, environment=environments["development"], version=v2, actor=editor
    )
    # When the try page is opened
    client.force_login(editor)
    described = sample_descriptions(client.get(try_url()).content.decode())
    # Then the descriptions say what this config does
    assert "the age check requires 16" in described["Minor"]
    assert "this pipeline has no required-fields check" in described["Missing email"]
    assert "this pipeline has no sanctions screening" in described["Sanctions hit"]


def test_try_page__environment_changed__only_the_samples_described_again(
    client, editor, released, environments
):
    # Given staging's override raising the minimum age to 25
    release_services.override_set(
        pipeline=released,
        environment=environments["staging"],
        actor=editor,
        override={
            "stages": {"business_rules": {"rules": {"age_verification": {"params": {"minimum_age": 25}}}}}
        },
    )
    # When an editor looking at the Minor sample picks staging (htmx asks for the samples)
    client.force_login(editor)
    html = client.get(
        try_url() + "?environment=staging&sample=minor", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="samples"
    ).content.decode()
    # Then only the samples come back, described against staging, the Minor one still current
    assert html.lstrip().startswith('<aside class="card" id="samples">') and "<form" not in html
    assert "what runs in staging: v1 with its override" in html
    assert "the age check requires 25" in sample_descriptions(html)["Minor"]
    assert 'class="current"><a href="?sample=minor&amp;environment=staging"' in html
