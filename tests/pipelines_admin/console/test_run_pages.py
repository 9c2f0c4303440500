import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from pipelines_admin.runs import services as run_services
from pipelines_admin.runs.models import Batch

pytestmark = pytest.mark.django_db

APPLICANT = {
    "name": "Maria Garcia",
    "email": "maria.garcia@example.com",
    "date_of_birth": "1990-04-12",
    "ssn": "123-45-6789",
}


@pytest.fixture
def finished_run(released, environments, editor):
    run = run_services.run_submit(
        pipeline=released, environment=environments["development"], record=APPLICANT, actor=editor
    )
    return run_services.run_execute(run.pk)


def test_pipelines_page__released_pipeline__live_version_per_environment(client, viewer, released):
    client.force_login(viewer)
    html = client.get("/").content.decode()
    assert "Onboarding" in html and "v1" in html and "not released" in html


def test_run_detail__finished_run__rules_shown_and_pii_masked(client, viewer, finished_run):
    # Given a finished run / When a viewer opens it
    client.force_login(viewer)
    html = client.get(reverse("console:run-detail", kwargs={"run_id": finished_run.pk})).content.decode()
    # Then every rule's outcome shows, and no PII
    for rule in ("required_fields", "email_format", "age_verification"):
        assert rule in html
    assert "123-45-6789" not in html and "Maria Garcia" not in html and "1990-04-12" not in html
    assert 'hx-trigger="every 1s"' not in html  # finished: no more polling


def test_run_detail__queued_run__polls_until_finished(client, viewer, released, environments, editor):
    run = run_services.run_submit(
        pipeline=released, environment=environments["development"], record=APPLICANT, actor=editor
    )
    client.force_login(viewer)
    response = client.get(reverse("console:run-detail", kwargs={"run_id": run.pk}), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="run-result"' in html and 'hx-trigger="every 1s"' in html and "<html" not in html


def test_run_detail__polled_until_finished__fragment_brings_the_data_after_the_rules_and_save_card(
    client, editor, released, environments
):
    # Given a queued run, its page polled by an editor
    run = run_services.run_submit(
        pipeline=released, environment=environments["development"], record=APPLICANT, actor=editor
    )
    client.force_login(editor)
    url = reverse("console:run-detail", kwargs={"run_id": run.pk})
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Not run yet." in html and 'id="save-as-test-case"' not in html
    # When the worker finishes it and the page polls again
    run_services.run_execute(run.pk)
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    # Then the fragment holds the data after the rules and the save-as-test-case card, and stops polling
    after = html[html.index('id="after-the-rules"') :]
    assert "&quot;email&quot;: &quot;" in after and "Not run yet." not in html
    assert 'id="save-as-test-case"' in html and "hx-trigger" not in html and "<html" not in html


def test_runs_page__filters__only_matching_runs(client, viewer, finished_run):
    client.force_login(viewer)
    assert str(finished_run.pk)[:8] in client.get("/runs/?status=passed").content.decode()
    html = client.get("/runs/?status=failed").content.decode()
    assert str(finished_run.pk)[:8] not in html and "match these filters" in html


def test_runs_page__partial_and_undecided_runs__labelled(client, viewer, released, environments, editor):
    # Given a finished run of one stage only
    run = run_services.run_submit(
        pipeline=released,
        environment=environments["development"],
        record=APPLICANT,
        actor=editor,
        stages=["data_quality"],
    )
    run_services.run_execute(run.pk)
    client.force_login(viewer)
    # When the runs page and the pipelines overview are shown
    runs = client.get("/runs/?status=undecided").content.decode()
    overview = client.get("/").content.decode()
    # Then the run is listed as undecided and labelled partial in both
    assert str(run.pk)[:8] in runs and 'status-undecided">undecided</span>' in runs
    assert ">partial</span>" in runs and "undecided · partial" in overview


def test_batches_page__upload_jsonl__batch_created_and_redirected(client, editor, released):
    # Given an editor on the batches page / When a file with one bad line is uploaded
    client.force_login(editor)
    data = (json.dumps(APPLICANT) + "\n{oops\n").encode()
    response = client.post(
        reverse("console:batches"),
        {
            "pipeline": "onboarding",
            "environment": "development",
            "file": SimpleUploadedFile("day.jsonl", data, content_type="application/x-ndjson"),
        },
    )
    # Then the batch exists and the browser goes to its progress page, which names the bad line
    batch = Batch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/batches/{batch.pk}/"
    html = client.get(response["Location"]).content.decode()
    assert "0</strong> of 1 processed" in html and "line 2: not valid JSON" in html


def test_batches_page__viewer_uploads__refused_with_message(client, viewer, released):
    client.force_login(viewer)
    response = client.post(
        reverse("console:batches"),
        {
            "pipeline": "onboarding",
            "environment": "development",
            "file": SimpleUploadedFile("day.jsonl", json.dumps(APPLICANT).encode()),
        },
    )
    assert response.status_code == 403
    assert "does not allow you to submit runs" in response.content.decode()
    assert not Batch.objects.exists()


def test_batch_results__csv_download__masked_rows_in_file_order(client, editor, released):
    client.force_login(editor)
    client.post(
        reverse("console:batches"),
        {
            "pipeline": "onboarding",
            "environment": "development",
            "file": SimpleUploadedFile("a.jsonl", json.dumps(APPLICANT).encode()),
        },
    )
    batch = Batch.objects.get()
    from pipelines_admin.runs.batches import batch_chunk_process

    batch_chunk_process(batch.chunks.get().pk)
    response = client.get(reverse("console:batch-results", kwargs={"batch_id": batch.pk, "fmt": "csv"}))
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[0] == (
        "line,run_id,status,failed_rules,checks_not_run,duration_ms,error,input,"
        "reason_codes,customer_messages,next_steps"
    )
    assert ",passed," in body.splitlines()[1] and "123-45-6789" not in body
    assert client.get(f"/batches/{batch.pk}/results.xml").status_code == 404


def test_dashboards_page__after_a_run__tiles_and_chart_data(client, viewer, finished_run):
    client.force_login(viewer)
    html = client.get("/dashboards/").content.decode()
    assert 'id="throughput-data"' in html and "Slowest rules" in html


def test_audit_page__changes_and_runs__listed_and_filterable(client, viewer, finished_run):
    client.force_login(viewer)
    html = client.get("/audit/").content.decode()
    assert "pipeline.created" in html and "run.completed" in html
    html = client.get("/audit/?action=run.completed", HTTP_HX_REQUEST="true").content.decode()
    assert "run.completed" in html and "pipeline.created" not in html.split('id="event-table"')[1]


def test_pipelines_page__after_runs__latest_runs_with_status_links(client, viewer, finished_run):
    # Given a pipeline with a finished run / When the pipelines page is opened
    client.force_login(viewer)
    html = client.get("/").content.decode()
    # Then the run shows with its status, linking to it, next to the live versions
    assert f'href="/runs/{finished_run.pk}/"' in html and "status-passed" in html
    assert "/runs/?pipeline=onboarding" in html


def test_run_detail__data_with_booleans_nulls_and_nesting__shown_as_indented_json(
    client, viewer, released, environments, editor
):
    # Given a finished run whose application holds true, null and a nested object
    record = {
        **APPLICANT,
        "newsletter": True,
        "referrer": None,
        "preferences": {"channel": "sms", "ids": [1, 2]},
    }
    run = run_services.run_submit(
        pipeline=released, environment=environments["development"], record=record, actor=editor
    )
    run_services.run_execute(run.pk)
    # When a viewer opens it
    client.force_login(viewer)
    html = client.get(reverse("console:run-detail", kwargs={"run_id": run.pk})).content.decode()
    # Then the input and the data after the rules read as JSON, indented, still masked
    assert html.count("&quot;newsletter&quot;: true,") == 2 and html.count("&quot;referrer&quot;: null,") == 2
    # (nested objects indented; PostgreSQL's jsonb keeps their keys in its own order)
    assert html.count("&quot;preferences&quot;: {\n    &quot;") == 2
    assert html.count("    &quot;channel&quot;: &quot;sms&quot;") == 2
    assert "True" not in html and "None" not in html and "&#x27;newsletter&#x27;" not in html
    assert "123-45-6789" not in html and "Maria Garcia" not in html
    # And so do the rule details
    assert "&quot;minimum_age&quot;: 18" in html


def test_run_detail__rule_changed_a_field__before_and_after_shown_as_json(
    client, viewer, editor, environments
):
    # Given a pipeline that trims the occupation, and a run of an application with one to trim
    from pipelines_admin.configs import services as config_services
    from pipelines_admin.releases import services as release_services

    document = {
        "stages": {
            "preprocessing": {
                "rules": {
                    "trim_occupation": {"class": "TrimWhitespaceRule", "params": {"field_name": "occupation"}}
                }
            }
        }
    }
    pipeline = config_services.pipeline_create(slug="trim", name="Trim", document=document, author=editor)
    release_services.release_create(
        pipeline=pipeline,
        environment=environments["development"],
        version=pipeline.versions.get(),
        actor=editor,
    )
    run = run_services.run_submit(
        pipeline=pipeline,
        environment=environments["development"],
        record={"occupation": "  Nurse "},
        actor=editor,
    )
    run_services.run_execute(run.pk)
    # When a viewer opens it
    client.force_login(viewer)
    html = client.get(reverse("console:run-detail", kwargs={"run_id": run.pk})).content.decode()
    # Then the change shows both values as JSON strings, quotes and spaces kept
    changes = html[html.index("Changes made by the rules") :]
    assert '<code class="json">&quot;  Nurse &quot;</code>' in changes
    assert '<code class="json">&quot;Nurse&quot;</code>' in changes


# -- what each role is offered ------------------------------------------------------------

EDITOR_NOTE = "needs the editor role; ask an administrator."


def test_run_detail__viewer__no_run_again_or_save_controls_but_a_note(client, viewer, finished_run):
    # Given a finished run / When a viewer opens it
    client.force_login(viewer)
    html = client.get(reverse("console:run-detail", kwargs={"run_id": finished_run.pk})).content.decode()
    # Then neither "Run it again" nor "Save as test case" is offered; one note says who can
    assert reverse("console:rerun", kwargs={"run_id": finished_run.pk}) not in html
    assert reverse("console:save-as-test-case", kwargs={"run_id": finished_run.pk}) not in html
    assert (
        html.count(EDITOR_NOTE) == 1
        and f"Running it again or keeping it as a test case {EDITOR_NOTE}" in html
    )


def test_run_detail__editor__run_again_and_save_offered_without_notes(client, editor, finished_run):
    client.force_login(editor)
    html = client.get(reverse("console:run-detail", kwargs={"run_id": finished_run.pk})).content.decode()
    assert reverse("console:rerun", kwargs={"run_id": finished_run.pk}) in html
    assert reverse("console:save-as-test-case", kwargs={"run_id": finished_run.pk}) in html
    assert EDITOR_NOTE not in html


def test_batches_page__viewer__no_upload_form_but_a_note(client, viewer, released):
    # Given a viewer / When the batches page is opened
    client.force_login(viewer)
    html = client.get(reverse("console:batches")).content.decode()
    # Then no upload form is offered; a note says who can run batches
    assert 'type="file"' not in html and "Upload and run" not in html
    assert f"Running batches {EDITOR_NOTE}" in html


def test_batches_page__editor__upload_form_without_note(client, editor, released):
    client.force_login(editor)
    html = client.get(reverse("console:batches")).content.decode()
    assert 'type="file"' in html and "Upload and run" in html and EDITOR_NOTE not in html


def upload(client, **data):
    fields = {
        "pipeline": "onboarding",
        "environment": "staging",
        "file": SimpleUploadedFile("day.jsonl", json.dumps(APPLICANT).encode()),
        **data,
    }
    return client.post(reverse("console:batches"), {k: v for k, v in fields.items() if v is not None})


@pytest.mark.parametrize(
    "who, data, status, reason",
    [
        ("editor", {"file": SimpleUploadedFile("day.txt", b"name\nAnn\n")}, 400, "Upload a .csv file"),
        (
            "editor",
            {"file": SimpleUploadedFile("day.jsonl", b"{oops\n")},
            400,
            "no application that could be read",
        ),
        ("editor", {"file": None}, 400, "File: This field is required."),
        ("editor", {"environment": "nowhere"}, 400, "Environment: Select a valid choice."),
        ("viewer", {}, 403, "Your role does not allow you to submit runs."),
    ],
)
def test_batches_page__upload_refused__choices_kept_and_reason_at_the_top(
    client, editor, viewer, released, environments, who, data, status, reason
):
    # Given someone on the batches page (a viewer's form may be stale)
    client.force_login(editor if who == "editor" else viewer)
    # When the upload is refused
    response = upload(client, **data)
    html = response.content.decode()
    # Then the reason is said in words at the top of the form, before its first field
    assert response.status_code == status and not Batch.objects.exists()
    top = html[html.index("<h2>Run a file of applications</h2>") :]
    top = top[: top.index("<label")] if "<label" in top else top
    assert reason in top.replace("&#x27;", "'") and 'role="alert"' in top
    if who == "viewer":  # no form to show again: the note says who may run batches
        assert f"Running batches {EDITOR_NOTE}" in html and 'type="file"' not in html
        return
    # and the chosen pipeline and environment are still selected
    assert '<option value="onboarding" selected>' in html
    if data.get("environment") != "nowhere":
        assert '<option value="staging" selected>' in html


# -- the batch form and list ------------------------------------------------------------------


@pytest.fixture
def second_pipeline(released, editor, small_pipeline_document, environments):
    from pipelines_admin.configs import services as config_services

    return config_services.pipeline_create(
        slug="kyc", name="KYC", document=small_pipeline_document, author=editor
    )


def test_batches_page__came_from_a_pipeline__it_is_preselected(client, editor, second_pipeline):
    # Given two pipelines / When an editor follows a pipeline's "Run a batch" link
    client.force_login(editor)
    html = client.get(reverse("console:batches") + "?pipeline=kyc").content.decode()
    # Then that pipeline is the one selected
    assert '<option value="kyc" selected>' in html and '<option value="onboarding">' in html


def test_batches_page__several_pipelines_none_given__a_choice_is_required(client, editor, second_pipeline):
    # Given two pipelines / When an editor opens the batches page directly
    client.force_login(editor)
    html = client.get(reverse("console:batches")).content.decode()
    # Then no pipeline is chosen for them: the first option asks for one, and the select is required
    select = html[html.index('<select name="pipeline"') :]
    select = select[: select.index("</select>")]
    assert " required" in select[: select.index(">")]
    assert '<option value="" selected>Choose a pipeline</option>' in select
    assert "selected" not in select.replace('<option value="" selected>', "")
    # and sending the form without one is refused, saying so
    response = upload(client, pipeline="")
    assert response.status_code == 400 and "Pipeline: This field is required." in response.content.decode()


def test_batches_page__one_pipeline__it_is_chosen(client, editor, released):
    client.force_login(editor)
    html = client.get(reverse("console:batches")).content.decode()
    assert '<option value="onboarding" selected>' in html and "Choose a pipeline" not in html


def test_batches_page__list__passed_failed_review_and_error_counts_in_columns(
    client, viewer, editor, released
):
    # Given a batch whose runs passed, failed, went to review and errored
    client.force_login(editor)
    upload(client, environment="development")
    Batch.objects.update(status="completed", total=7, processed=7, passed=3, failed=1, review=1, errored=2)
    # When a viewer lists the batches
    client.force_login(viewer)
    html = client.get(reverse("console:batches")).content.decode()
    # Then each count has its column, review between failed and undecided
    head = html[html.index("<thead>") : html.index("</thead>")]
    assert (
        head.index(">Passed<")
        < head.index(">Failed<")
        < head.index(">To review<")
        < head.index(">Undecided<")
        < head.index(">Errors<")
    )
    row = html[html.index("<tbody>") : html.index("</tbody>")]
    assert (
        '<td class="num count-passed">3</td><td class="num count-failed">1</td>'
        '<td class="num count-review">1</td><td class="num muted">0</td><td class="num count-error">2</td>'
    ) in row
