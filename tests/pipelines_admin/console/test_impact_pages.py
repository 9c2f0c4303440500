"""The impact analysis pages: start an analysis, follow it, read the report."""

import json

import pytest
from django.urls import reverse
from django.utils.html import escape

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.configs import services as config_services
from pipelines_admin.impact import services
from pipelines_admin.impact.models import ImpactReport
from pipelines_admin.releases import services as release_services
from tests.pipelines_admin.impact.test_services import past_runs, stricter_version

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name="impact", **kwargs):
    return reverse(f"console:{name}", kwargs={"slug": "onboarding", **kwargs})


@pytest.fixture
def history(released, environments, editor):
    """12 finished runs in development (two 19-20 year olds in every six, one malformed email)."""
    return past_runs(released, environments["development"], editor)


@pytest.fixture
def v2(released, editor):
    return stricter_version(released, editor)


@pytest.fixture
def finished(history, released, environments, editor, v2):
    return services.impact_run_now(
        pipeline=released, environment=environments["development"], actor=editor, version=v2, last=100
    )


def start(client, **data):
    return client.post(
        url(), {"environment": "development", "version": "2", "last": "100", "override": "", **data}
    )


# -- the start page --------------------------------------------------------------------------


def test_impact_page__editor__form_prefilled_from_the_query(client, editor, released, v2):
    # Given an editor / When the impact page is opened for development and v1
    client.force_login(editor)
    response = client.get(url() + "?environment=development&version=1")
    html = response.content.decode()
    # Then the form offers the environments with what is live there, and the versions, prefilled
    assert response.status_code == 200
    assert '<option value="development" selected>development (live v1)</option>' in html
    assert "production (not released)" in html
    assert '<option value="1" selected>v1 · ' in html and "v2 (latest) · minimum age 21" in html
    assert 'name="last"' in html and 'value="10000"' in html and "Start the analysis" in html
    # and the empty list explains what an analysis is
    assert "No impact analyses of Onboarding yet" in html
    assert 'aria-current="page">Impact</a>' in html


def test_impact_page__defaults__production_and_latest_version(client, editor, released, v2):
    client.force_login(editor)
    html = client.get(url() + "?environment=nowhere&version=99").content.decode()
    assert '<option value="production" selected>' in html
    assert '<option value="2" selected>v2 (latest)' in html


def test_impact_page__viewer__read_only_and_start_refused(client, viewer, finished):
    # Given a viewer / When she opens the impact page
    client.force_login(viewer)
    html = client.get(url()).content.decode()
    # Then the past reports are listed, without a start button
    assert "Start the analysis" not in html and "your role cannot start analyses" in html
    assert f'href="{url("impact-report", report_id=finished.pk)}"' in html
    # and posting anyway is refused by the service
    response = start(client)
    assert response.status_code == 403 and "does not allow you to submit runs" in response.content.decode()
    assert ImpactReport.objects.count() == 1


def test_impact_start__editor__queued_then_finished_by_the_chunks(
    client, editor, history, v2, django_capture_on_commit_callbacks
):
    # Given an editor / When she starts an analysis of v2 over the last 100 runs of development
    client.force_login(editor)
    with django_capture_on_commit_callbacks() as callbacks:
        response = start(client)
    report = ImpactReport.objects.get()
    # Then the report is queued, its chunks are enqueued after commit, and she lands on it
    assert response.status_code == 302 and response["Location"] == url("impact-report", report_id=report.pk)
    assert len(callbacks) == 1 and report.status == "queued" and report.total == 12
    assert report.requested_by == editor and report.candidate_version == v2 and report.window == 100
    html = client.get(response["Location"]).content.decode()
    assert "Impact analysis queued: 12 past runs" in html
    assert 'hx-trigger="every 1s"' in html and "Replaying past applications" in html
    assert "Cancel the analysis" in html
    # When the workers process its chunks
    for chunk in report.chunks.all():
        services.impact_chunk_process(chunk.pk)
    # Then the page stops polling and shows the figures
    html = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' not in html and "Cancel the analysis" not in html
    assert "4 that passed would no longer pass" in html


def test_impact_start__override_kept_in_the_report(client, editor, history):
    client.force_login(editor)
    patch = {"stages": {"business_rules": {"enabled": False}}}
    response = start(client, version="1", override=json.dumps(patch))
    report = ImpactReport.objects.get()
    assert response.status_code == 302 and report.candidate_override == patch
    assert "proposed override" in report.candidate_label


def test_impact_start__posted_from_elsewhere__override_alone_default_window(client, editor, history):
    # an environment page posts only the environment and a proposed override: the live version, 10,000 runs
    client.force_login(editor)
    patch = {"stages": {"business_rules": {"enabled": False}}}
    response = client.post(url(), {"environment": "development", "override": json.dumps(patch)})
    report = ImpactReport.objects.get()
    assert response.status_code == 302 and report.window == 10_000 and report.candidate_version.number == 1
    assert report.candidate_override == patch


@pytest.mark.parametrize(
    "data, status, message",
    [
        ({"override": "{oops"}, 400, "Not valid JSON"),
        ({"override": "[1, 2]"}, 400, "must be a JSON object"),
        ({"last": "0"}, 400, "greater than or equal to 1"),
        ({"last": "100001"}, 400, "less than or equal to 100000"),
        ({"version": "7"}, 400, "There is no such version"),
        ({"version": "1"}, 400, "exactly what runs in development now"),
        ({"environment": "staging"}, 404, "has not been released to staging"),
        (
            {
                "override": '{"stages": {"business_rules": {"rules": {"age_verification": {"class": "NoSuchRule"}}}}}'
            },
            400,
            "not valid in development",
        ),
    ],
)
def test_impact_start__bad_input__error_beside_the_form_text_kept(
    client, editor, history, v2, data, status, message, settings
):
    settings.IMPACT_MAX_RUNS = 100_000
    # Given an editor / When she starts an analysis that cannot run
    client.force_login(editor)
    response = start(client, **data)
    html = response.content.decode()
    # Then the form comes back with the reason and the status, and what she typed
    assert response.status_code == status, html
    assert message in html.replace("&#x27;", "'")
    if "override" in data:
        assert f"{escape(data['override'])}</textarea>" in html
    assert not ImpactReport.objects.exists()


def test_impact_start__no_runs_yet__explained(client, editor, released, v2):
    client.force_login(editor)
    response = start(client)
    assert response.status_code == 400
    assert "has no finished runs in development to replay yet" in response.content.decode()


def test_impact_page__list__paginated_with_flips(client, viewer, finished, settings):
    client.force_login(viewer)
    html = client.get(url()).content.decode()
    row = html[html.index(f">#{finished.pk}<") :]
    assert "v2 in development" in row and "against live v1" in row and "completed" in row
    assert '<strong class="flip-to_fail">4</strong>' in row and "by eddie" in row
    assert 'hx-trigger="every 2s"' not in html  # nothing running: the list does not poll


def test_impact_page__running_report__list_polls(client, viewer, history, released, environments, editor, v2):
    report = services.impact_start(
        pipeline=released, environment=environments["development"], actor=editor, version=v2, last=100
    )
    client.force_login(viewer)
    html = client.get(url()).content.decode()
    assert 'hx-trigger="every 2s"' in html and 'class="mini-progress"' in html
    partial = client.get(url(), **HTMX).content.decode()
    assert partial.lstrip().startswith('<section class="card" id="reports"') and f">#{report.pk}<" in partial


# -- a report --------------------------------------------------------------------------------


def test_report__finished__headline_tables_chart_and_samples(client, viewer, finished, released):
    # Given a finished analysis of the stricter age / When a viewer opens it
    client.force_login(viewer)
    response = client.get(url("impact-report", report_id=finished.pk))
    html = response.content.decode()
    assert response.status_code == 200
    # Then what was compared is named, with shortened hashes and links to both versions
    assert 'live <a href="' in html and ">v1</a>" in html and "v2 in development" in html
    assert finished.baseline_hash[:19] in html and finished.candidate_hash[:19] in html
    assert finished.candidate_hash not in html.replace(f'title="{finished.candidate_hash}"', "")
    assert f'href="{reverse("console:version-detail", kwargs={"slug": "onboarding", "number": 2})}"' in html
    # the headline cards
    for label in ("Replayed", "Would no longer pass", "Would now pass", "Unchanged", "Skipped"):
        assert f'<span class="label">{label}</span>' in html
    assert '<span class="value fail">4</span>' in html and '<span class="value">8</span>' in html
    # the decisions table: passed -> failed highlighted
    assert 'class="num cell-to_fail nonzero" title="passed → failed">4<' in html
    # the rules: age_verification changed, first, highlighted, and in the chart's data
    rules = html[html.index('id="rules"') : html.index('id="samples"')]
    assert rules.index("age_verification") < rules.index("email_format")
    assert '<tr class="changed">' in rules
    chart = json.loads(
        html.split('<script id="rule-chart-data" type="application/json">')[1].split("</script>")[0]
    )
    assert chart["labels"] == ["business_rules / age_verification"]
    assert chart["deltas"]["fail"] == [4] and chart["deltas"]["pass"] == [-4]
    assert "chart.umd.min.js" in html and "js/impact.js" in html
    # latency before and after
    assert 'id="latency"' in html and ">p95<" in html and ">p99<" in html
    # the flipped applications, side by side, with links to their runs
    sample = finished.samples[0]
    assert html.count('<details class="sample"') == 4
    assert f'href="{reverse("console:run-detail", kwargs={"run_id": sample["run"]})}"' in html
    assert "would no longer pass" in html and "side-by-side" in html
    assert '<span class="small">· age_verification</span>' in html  # the rule that decides it, in the summary
    assert "2 other rules: same outcome" in html  # the unchanged rules, folded
    assert (
        escape(json.dumps(sample["input"], indent=2, ensure_ascii=False)) in html
    )  # its input as JSON, masked
    # no polling, no cancel button
    assert 'hx-trigger="every 1s"' not in html and "Cancel the analysis" not in html


def test_report__personal_data__masked_everywhere(client, viewer, finished, history):
    client.force_login(viewer)
    html = client.get(url("impact-report", report_id=finished.pk)).content.decode()
    assert "123-45-60" not in html and "@example.com" in html
    for i in range(12):
        assert f"person{i}@example.com" not in html and f"Person {i}" not in html


def test_report__htmx_progress_partial__polls_then_reloads_the_page(
    client, editor, history, released, environments, v2, settings
):
    settings.IMPACT_CHUNK_SIZE = 5
    report = services.impact_start(
        pipeline=released, environment=environments["development"], actor=editor, version=v2, last=100
    )
    client.force_login(editor)
    services.impact_chunk_process(report.chunks.order_by("index").first().pk)
    partial = client.get(url("impact-report", report_id=report.pk), **HTMX).content.decode()
    assert partial.lstrip().startswith('<div id="report" hx-get=') and "<html" not in partial
    assert 'hx-trigger="every 1s"' in partial and 'aria-valuenow="5"' in partial and "w-41" in partial
    assert "5</strong> of 12 replayed (41%)" in partial
    for chunk in report.chunks.all():
        services.impact_chunk_process(chunk.pk)
    # once finished, the poll reloads the whole page (the chart's data comes in a <script> htmx would drop)
    response = client.get(url("impact-report", report_id=report.pk), **HTMX)
    assert response.status_code == 200 and response["HX-Refresh"] == "true" and not response.content
    html = client.get(url("impact-report", report_id=report.pk)).content.decode()
    assert 'id="rule-chart-data"' in html and 'id="samples"' in html and "hx-trigger" not in html


def test_report__cancel__stops_and_says_so(client, editor, history, released, environments, v2):
    report = services.impact_start(
        pipeline=released, environment=environments["development"], actor=editor, version=v2, last=100
    )
    client.force_login(editor)
    response = client.post(url("impact-cancel", report_id=report.pk))
    assert response.status_code == 302 and response["Location"] == url("impact-report", report_id=report.pk)
    report.refresh_from_db()
    assert report.status == "cancelled"
    assert AuditEvent.objects.filter(action="impact.cancelled", object_id=str(report.pk)).exists()
    html = client.get(response["Location"]).content.decode()
    assert "Analysis cancelled after 0 of 12 runs" in html and "Cancelled after 0 of 12 runs" in html
    # cancelling again: the reason, with its status
    again = client.post(url("impact-cancel", report_id=report.pk))
    assert again.status_code == 400 and "already cancelled" in again.content.decode()


def test_report__cancel_by_viewer__refused(client, viewer, history, released, environments, editor, v2):
    report = services.impact_start(
        pipeline=released, environment=environments["development"], actor=editor, version=v2, last=100
    )
    client.force_login(viewer)
    html = client.get(url("impact-report", report_id=report.pk)).content.decode()
    assert "Cancel the analysis" not in html
    response = client.post(url("impact-cancel", report_id=report.pk))
    assert response.status_code == 403 and "does not allow you to submit runs" in response.content.decode()
    report.refresh_from_db()
    assert report.status == "queued"


def test_report__unknown__404(client, viewer, released):
    client.force_login(viewer)
    assert client.get(url("impact-report", report_id=999)).status_code == 404
    assert client.post(url("impact-cancel", report_id=999)).status_code in (403, 404)
    assert client.get(reverse("console:impact", kwargs={"slug": "nope"})).status_code == 404


def test_pages__script_in_names_and_messages__escaped(client, editor, history, released, environments):
    # Given a pipeline name and a version message holding markup
    released.name = "<script>alert('name')</script>"
    released.save()
    document = released.versions.get().document
    document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = 21
    evil = config_services.config_version_create(
        pipeline=released,
        document=document,
        base_version=released.versions.get(),
        author=editor,
        message="<script>alert('message')</script>",
    )
    report = services.impact_run_now(
        pipeline=released, environment=environments["development"], actor=editor, version=evil, last=100
    )
    client.force_login(editor)
    # Then both pages show them as text
    for page in (url(), url("impact-report", report_id=report.pk)):
        html = client.get(page).content.decode()
        assert "<script>alert(" not in html
        assert "&lt;script&gt;alert(" in html


def test_report__candidate_released_since__shown_as_live_baseline_as_before(
    client, editor, finished, released, environments, v2
):
    # Given a finished analysis of v2 against v1, live in development at the time
    # When v2 is released to development afterwards
    release_services.release_create(
        pipeline=released, environment=environments["development"], version=v2, actor=editor
    )
    client.force_login(editor)
    # Then the report and the lists call the candidate live, and v1 no longer what runs now
    html = client.get(url("impact-report", report_id=finished.pk)).content.decode()
    assert "live in development (v2)" in html and "v2 in development ·" not in html
    assert "what runs now" not in html and "no longer live: development now runs v2" in html
    for page in (url(), url("version-detail", number=2)):
        html = client.get(page).content.decode()
        assert "live in development (v2)" in html and "against live v1" not in html, page
