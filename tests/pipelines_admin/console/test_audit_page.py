"""The audit page: every action the code records, made by its real service, summarised
with the numbers it holds; filters by date and person; long change lists expand in place."""

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.utils import timezone

import pipelines_admin
from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.audit.summaries import SUMMARIES
from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.change_control import ChangeAuthority
from pipelines_admin.configs.models import Release
from pipelines_admin.impact import services as impact_services
from pipelines_admin.releases import services as release_services
from pipelines_admin.runs import batches
from pipelines_admin.runs import services as run_services
from pipelines_admin.runs.models import BatchChunk
from pipelines_admin.testcases import services as testcase_services
from pipelines_admin.tokens.services import token_create, token_revoke
from tests.pipelines_admin.conftest import ADULT, through_change_request

from ..conftest import ADULT, MINOR

pytestmark = pytest.mark.django_db

#: data set-up: production's gate was overridden through a change request approved before the test
APPROVED = ChangeAuthority("change_request", 0, ("paula",))


def actions_in_code() -> set[str]:
    """Every action string the code passes to audit_record (directly or through a helper
    that records it), found in the source: `action="thing.done"`."""
    root = Path(pipelines_admin.__file__).parent
    found = set()
    for path in root.rglob("*.py"):
        found |= set(re.findall(r'\baction="([a-z_]+\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    return found


# what an event holds that is not for its summary line: the application and expectation
# documents (shown on their own pages, masked), config changes (listed one by one) and
# override documents (their effect is in the changes)
NOT_SUMMARISED = {"input", "expected", "changes", "override_before", "override_after"}


def numbers(value, key=None):
    """(key, number) for every number in an event's data or diff that its summary shows."""
    if key in NOT_SUMMARISED or isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield key, value
    elif isinstance(value, dict):
        for inner_key, inner in value.items():
            yield from numbers(inner, inner_key)
    elif isinstance(value, list):
        for inner in value:
            yield from numbers(inner, key)


def event_rows(page_html: str) -> dict[int, str]:
    """The audit table's rows as plain text, by event sequence number."""
    rows = re.findall(r'<tr id="event-(\d+)">(.*?)</tr>', page_html, flags=re.S)
    return {
        int(sequence): " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for sequence, row in rows
    }


def shows(text: str, number) -> bool:
    return re.search(rf"(?<![\d.]){re.escape(str(number))}(?![\d.])", text) is not None


def every_kind_of_event(*, pipeline, environments, editor, publisher, superuser, settings):
    """Call each service that records an audit event at least once, in an order that
    works: releases (the production gate passed, then overridden), overrides, toggles,
    a rollback, a binding set and removed, an environment created and changed, runs (one
    stopped by the time limit), a batch partly given up on, a cancelled batch, test cases,
    suite runs (one failing, one stopped), impact analyses (one cancelled), an API token,
    a review worked step by step and one declined."""
    development, staging, production = (
        environments[name] for name in ("development", "staging", "production")
    )
    first_release = Release.objects.get(pipeline=pipeline, environment=development)
    v1 = pipeline.versions.get()
    # the gate passes on production once the suite passed on exactly what goes there
    testcase_services.suite_run_now(pipeline=pipeline, environment=production, actor=publisher, version=v1)
    release_services.release_create(
        pipeline=pipeline, environment=production, version=v1, actor=publisher, reason="CAB-7 approved"
    )
    document = json.loads(json.dumps(v1.document))
    document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = 21
    document["stages"]["data_quality"]["timeout_seconds"] = 20
    v2 = config_services.config_version_create(
        pipeline=pipeline, document=document, base_version=v1, author=editor, message="Minimum age 21"
    )
    release_services.release_create(pipeline=pipeline, environment=staging, version=v2, actor=editor)
    through_change_request(
        kind="release",
        pipeline=pipeline,
        environment=production,
        version=v2.number,
        actor=publisher,
        reason="hotfix",
    )
    release_services.override_set(
        pipeline=pipeline,
        environment=development,
        actor=editor,
        override={"stages": {"data_quality": {"timeout_seconds": 30}}},
    )
    release_services.stage_toggle(
        pipeline=pipeline, environment=development, stage="business_rules", enabled=False, actor=editor
    )
    release_services.rule_toggle(
        pipeline=pipeline,
        environment=development,
        stage="data_quality",
        rule="email_format",
        enabled=False,
        actor=editor,
    )
    release_services.release_rollback(
        pipeline=pipeline, environment=development, to_release=first_release, actor=editor
    )
    config_services.service_binding_set(
        environment=development,
        interface="KYCService",
        name="vendor",
        actor=editor,
        kind="simulated",
        timeout_seconds=2.5,
        latency_ms=40,
        failure_rate=0.25,
    )
    config_services.service_binding_remove(
        environment=development, interface="KYCService", name="vendor", actor=editor
    )
    sandbox = config_services.environment_create(name="sandbox", actor=publisher, position=40)
    config_services.environment_update(
        environment=sandbox,
        actor=publisher,
        protected=True,
        position=45,
        description="Vendors' test systems",
        reason="vendor data",
    )
    for record in (ADULT, MINOR, ADULT):
        run = run_services.run_submit(pipeline=pipeline, environment=development, record=record, actor=editor)
        run_services.run_execute(run.pk)
    stopped = run_services.run_submit(pipeline=pipeline, environment=development, record=ADULT, actor=editor)
    run_services.run_time_limit_exceeded(stopped.pk)
    # a batch of 5 applications and a line that is not one, in chunks of 2: the last chunk's
    # worker died every time, so its applications are errors
    settings.BATCH_CHUNK_SIZE = 2
    rows = [ADULT, MINOR, ADULT, MINOR, ADULT]
    data = ("\n".join(json.dumps(row) for row in rows) + "\n{not json\n").encode()
    batch = batches.batch_create(
        pipeline=pipeline, environment=development, filename="day.jsonl", data=data, actor=editor
    )
    chunks = list(batch.chunks.order_by("index"))
    BatchChunk.objects.filter(pk=chunks[-1].pk).update(attempts=settings.RUN_MAX_ATTEMPTS)
    for chunk in chunks:
        batches.batch_chunk_process(chunk.pk)
    cancelled = batches.batch_create(
        pipeline=pipeline,
        environment=development,
        filename="late.jsonl",
        data=json.dumps(ADULT).encode(),
        actor=editor,
    )
    batches.batch_cancel(batch=cancelled, actor=editor)
    # test cases: one more (expecting the wrong outcome, so the suite fails), one changed, one deleted
    wrong = testcase_services.case_create(
        pipeline=pipeline,
        name="adult expected to fail",
        record=ADULT,
        expected={"status": "failed"},
        actor=editor,
    )
    testcase_services.suite_run_now(pipeline=pipeline, environment=development, actor=editor)
    stopped_suite = testcase_services.suite_start(pipeline=pipeline, environment=development, actor=editor)
    testcase_services.suite_time_limit_exceeded(stopped_suite.pk)
    minor = pipeline.test_cases.get(name="minor fails")
    testcase_services.case_update(
        case=minor, name="a minor fails", record=MINOR, expected={"status": "failed"}, actor=editor
    )
    testcase_services.case_delete(case=wrong, actor=editor)
    impact_services.impact_run_now(
        pipeline=pipeline, environment=development, actor=editor, last=10, version=v2
    )
    analysis = impact_services.impact_start(
        pipeline=pipeline, environment=development, actor=editor, last=10, version=v2
    )
    impact_services.impact_cancel(report=analysis, actor=editor)
    partial = run_services.run_submit(
        pipeline=pipeline, environment=development, record=ADULT, actor=editor, stages=["data_quality"]
    )
    run_services.run_execute(partial.pk)
    release_services.stage_toggle(
        pipeline=pipeline,
        environment=development,
        stage="data_quality",
        enabled=False,
        actor=editor,
        disable_dependents=True,
    )
    token = token_create(user=editor, name="release job").token
    token_revoke(token=token, actor=superuser)
    # a review: claimed, a field revealed, released, approved; another declined
    from pipelines_admin.reviews import services as review_services
    from tests.pipelines_admin.reviews.conftest import make_review_run

    reviewed, declined = (make_review_run(pipeline, development, editor, record=ADULT) for _ in range(2))
    review_services.review_claim(run=reviewed, actor=superuser)
    review_services.review_reveal(run=reviewed, actor=superuser, field="ssn", reason="compare with the list")
    review_services.review_release(run=reviewed, actor=superuser)
    review_services.review_decide(
        run=reviewed, actor=superuser, decision="approve", reason_code="false_positive"
    )
    review_services.review_decide(
        run=declined, actor=superuser, decision="decline", reason_code="confirmed_match"
    )
    # a webhook: created, changed, its secret rotated, disabled by its failures, enabled, a
    # delivery re-sent, deleted
    from pipelines_admin.webhooks import services as webhook_services

    hook = webhook_services.subscription_create(
        actor=publisher, name="ops bot", url="https://hooks.example.com/a", events=["release.created"]
    ).subscription
    hook = webhook_services.subscription_update(
        subscription=hook, actor=publisher, url="https://hooks.example.com/b"
    )
    webhook_services.subscription_rotate_secret(subscription=hook, actor=publisher)
    webhook_services.event_publish(
        event="release.created", pipeline=pipeline, environment=development, data={}
    )
    delivery = hook.deliveries.get()
    webhook_services.delivery_resend(delivery=delivery, actor=publisher)
    webhook_services.subscription_disable(subscription=hook, actor=publisher, reason="receiver retired")
    webhook_services.subscription_enable(subscription=hook, actor=publisher)
    webhook_services.subscription_delete(subscription=hook, actor=publisher)
    # change requests: one revised, then rejected; one withdrawn; one approved, scheduled and
    # refused at its time (a test case changed since); one applied by breaking glass
    from datetime import timedelta

    from django.contrib.auth import get_user_model

    from pipelines_admin.changes import services as change_services

    second = get_user_model().objects.get(username="second-publisher")

    def override_request(seconds):
        return change_services.change_submit(
            kind="override",
            pipeline=pipeline,
            environment=staging,
            actor=publisher,
            reason="an untested timeout",
            gate_override=True,
            override={"stages": {"data_quality": {"timeout_seconds": seconds}}},
        ).change_request

    revised = change_services.change_request_revise(
        change_request=override_request(41), actor=publisher, payload={"override": {"description": "v"}}
    )
    change_services.change_request_reject(change_request=revised, actor=second, comment="not now")
    change_services.change_request_withdraw(change_request=override_request(42), actor=publisher)
    scheduled = override_request(43)
    change_services.change_request_approve(change_request=scheduled, actor=second)
    now = timezone.now()
    change_services.change_request_schedule(
        change_request=scheduled, actor=publisher, when=now + timedelta(hours=1), now=now
    )
    testcase_services.case_create(
        pipeline=pipeline, name="late case", record=ADULT, expected={"status": "passed"}, actor=editor
    )
    change_services.changes_apply_due(now=now + timedelta(hours=2))
    change_services.change_request_break_glass(
        change_request=override_request(44), actor=superuser, reason="incident 9"
    )


def test_audit_page__every_action_the_code_records__summary_shows_each_number_it_holds(
    client, viewer, editor, publisher, superuser, released, cases, environments, settings
):
    # Given one event or more of every action the code records, each made by its real service
    every_kind_of_event(
        pipeline=released,
        environments=environments,
        editor=editor,
        publisher=publisher,
        superuser=superuser,
        settings=settings,
    )
    recorded = set(AuditEvent.objects.values_list("action", flat=True))
    assert recorded == actions_in_code(), "make an event of each action above (and give it a summary)"
    assert set(SUMMARIES) == actions_in_code(), "every action the code records has its own summary"
    client.force_login(viewer)
    missing = []
    for action in sorted(recorded):
        # When a viewer lists the events of that action
        page_html = client.get("/audit/", {"action": action}).content.decode()
        rows = event_rows(page_html)
        # Then each event's row shows every number the event holds, its outcome and its error
        for event in AuditEvent.objects.filter(action=action):
            text = rows[event.sequence]
            for key, number in [*numbers(event.data), *numbers(event.diff)]:
                if not shows(text, number):
                    missing.append(f"{action} #{event.sequence}: {key}={number} not in {text!r}")
            for key in ("status", "error"):
                if event.data.get(key) and event.data[key] not in text:
                    missing.append(f"{action} #{event.sequence}: {key} {event.data[key]!r} not in {text!r}")
        assert "123-45-6789" not in page_html and "Maria Garcia" not in page_html
    assert missing == []
    # and a partial run says so, and a toggle names the rules it turned off with it
    runs = client.get("/audit/", {"action": "run.completed"}).content.decode()
    toggles = client.get("/audit/", {"action": "stage.toggled"}).content.decode()
    assert "partial: only data_quality ran" in runs
    assert "also turned off, as they depend on it: business_rules/age_verification" in toggles


def test_audit_page__suite_run_stopped_with_an_error__counts_and_the_error_not_an_empty_errors_count(
    client, viewer, editor, cases, environments, settings
):
    # Given a suite run the time limit stopped
    suite = testcase_services.suite_start(
        pipeline=cases[0].pipeline, environment=environments["development"], actor=editor
    )
    testcase_services.suite_time_limit_exceeded(suite.pk)
    event = AuditEvent.objects.get(action="suite_run.completed")
    # When the audit page shows it
    client.force_login(viewer)
    text = event_rows(client.get("/audit/").content.decode())[event.sequence]
    # Then it says an error stopped it and what it was, and counts test cases
    assert (
        "error" in text.split()
        and f"stopped after the time limit of {settings.SUITE_SOFT_TIME_LIMIT} s" in text
    )
    assert "3 test cases: 0 passed, 0 failed" in text and "errors" not in text


# -- filters and long change lists ---------------------------------------------------------


def at(monkeypatch, when: str):
    """Let what follows happen at `when` (ISO 8601, UTC)."""
    moment = datetime.fromisoformat(when).replace(tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)


def shown_actions(client, query: dict) -> list[tuple[str, str]]:
    """(actor, action) of each event the page lists for these filters."""
    page_html = client.get("/audit/", query).content.decode()
    return [tuple(text.split()[3:5]) for text in event_rows(page_html).values()]


def test_audit_page__date_range__only_events_on_those_days_both_included(
    client, viewer, editor, small_pipeline_document, environments, monkeypatch
):
    # Given a pipeline created on 1 March, its release on 5 March at 00:00 and 23:59, and a token on 6 March
    at(monkeypatch, "2026-03-01T12:00:00")
    pipeline = config_services.pipeline_create(
        slug="onboarding", name="Onboarding", document=small_pipeline_document, author=editor
    )
    at(monkeypatch, "2026-03-05T00:00:00")
    release_services.release_create(
        pipeline=pipeline,
        environment=environments["development"],
        version=pipeline.versions.get(),
        actor=editor,
    )
    at(monkeypatch, "2026-03-05T23:59:59")
    release_services.release_create(
        pipeline=pipeline, environment=environments["staging"], version=pipeline.versions.get(), actor=editor
    )
    at(monkeypatch, "2026-03-06T00:00:00")
    token_create(user=editor, name="ci")
    monkeypatch.undo()
    client.force_login(viewer)
    # When the page is filtered to 5 March alone, from 5 March on, and up to 4 March
    # Then only the events of those days are listed
    assert shown_actions(client, {"from": "2026-03-05", "to": "2026-03-05"}) == [
        ("eddie", "release.created"),
        ("eddie", "release.created"),
    ]
    assert [a for _, a in shown_actions(client, {"from": "2026-03-05"})] == [
        "api_token.created",
        "release.created",
        "release.created",
    ]
    assert [a for _, a in shown_actions(client, {"to": "2026-03-04"})] == [
        "config_version.created",
        "pipeline.created",
    ]
    # and a date that is not one filters nothing out
    assert len(shown_actions(client, {"from": "5 March", "to": "2026-02-30"})) == 5


def test_audit_page__person__only_that_persons_events_with_everyone_offered(
    client, viewer, editor, publisher, released
):
    # Given events by the editor (the pipeline) and the publisher (an environment)
    config_services.environment_create(name="sandbox", actor=publisher)
    client.force_login(viewer)
    # When the page is filtered by the publisher
    response = client.get("/audit/", {"actor": "pat"})
    # Then only her event is listed, and the person list offers everyone in the trail, her chosen
    assert shown_actions(client, {"actor": "pat"}) == [("pat", "environment.created")]
    page_html = response.content.decode()
    person = re.search(
        r'<label>Person <select name="actor">(.*?)</select></label>', page_html, flags=re.S
    ).group(1)
    assert re.findall(r"<option[^>]*>([^<]*)</option>", person) == ["anyone", "eddie", "pat"]
    assert "<option selected>pat</option>" in person


def test_audit_page__filter_form__every_control_has_a_label_and_keeps_its_value(client, viewer, released):
    # Given filters chosen / When the page is shown
    client.force_login(viewer)
    query = {
        "pipeline": "onboarding",
        "environment": "development",
        "action": "release.created",
        "actor": "eddie",
        "from": "2026-03-01",
        "to": "2030-12-31",
    }
    page_html = client.get("/audit/", query).content.decode()
    form = re.search(r'<form class="filters".*?</form>', page_html, flags=re.S).group(0)
    # Then each control sits in a label naming it, showing the value chosen
    controls = re.findall(r"<label>([A-Z][a-z]+) <(select|input)[^>]*name=\"(\w+)\"", form)
    assert [(label, name) for label, _, name in controls] == [
        ("Pipeline", "pipeline"),
        ("Environment", "environment"),
        ("Action", "action"),
        ("Person", "actor"),
        ("From", "from"),
        ("To", "to"),
    ]
    assert len(re.findall(r"<(?:select|input) ", form)) == len(controls)
    assert 'name="from" value="2026-03-01"' in form and 'name="to" value="2030-12-31"' in form
    assert "<option selected>eddie</option>" in form and "<option selected>release.created</option>" in form


def test_audit_page__filtered_over_several_pages__page_links_keep_the_filters(
    client, viewer, editor, released
):
    # Given 31 tokens made by the editor, and one by the viewer
    for n in range(31):
        token_create(user=editor, name=f"token {n}")
    token_create(user=viewer, name="mine")
    client.force_login(viewer)
    query = "action=api_token.created&actor=eddie&from=2000-01-01&to=2100-01-01"
    # When the first page of the editor's tokens is shown, then the next
    first = client.get(f"/audit/?{query}").content.decode()
    older = html.unescape(re.search(r'<a href="([^"]+)">Older →</a>', first).group(1))
    second = client.get("/audit/" + older).content.decode()
    # Then the page link carries every filter, and the second page holds the last of the same events
    assert older == f"?{query}&page=2"
    assert len(event_rows(first)) == 30 and "Page 2 of 2 · 31 in all" in second
    assert [a for a, _ in shown_actions(client, dict(p.split("=") for p in older[1:].split("&")))] == [
        "eddie"
    ]
    assert 'name="from" value="2000-01-01"' in second and "<option selected>eddie</option>" in second
    newer = html.unescape(re.search(r'<a href="([^"]+)">← Newer</a>', second).group(1))
    assert newer == f"?{query}&page=1"


def test_audit_page__version_with_many_changes__first_three_then_the_rest_in_an_expandable_list(
    client, viewer, editor, released
):
    # Given a version adding eight rules
    v1 = released.versions.get()
    document = json.loads(json.dumps(v1.document))
    for n in range(1, 9):
        document["stages"]["data_quality"]["rules"][f"check_{n}"] = {
            "class": "RequiredFieldsRule",
            "params": {"required_fields": ["name"]},
        }
    config_services.config_version_create(
        pipeline=released, document=document, base_version=v1, author=editor, message="Eight more checks"
    )
    event = AuditEvent.objects.get(action="config_version.created", diff__to_version=2)
    # When the audit page shows it
    client.force_login(viewer)
    page_html = client.get("/audit/", {"action": "config_version.created"}).content.decode()
    row = re.search(rf'<tr id="event-{event.sequence}">(.*?)</tr>', page_html, flags=re.S).group(1)
    # Then the first three changes show, then a closed list holding the other five, opened in place
    shown, _, folded = row.partition('<details class="more-changes">')
    summaries = [c["summary"] for c in event.diff["changes"]]
    assert len(summaries) == 8
    assert all(s in shown for s in summaries[:3]) and not any(s in shown for s in summaries[3:])
    assert "Show all 8 changes" in folded and all(s in folded for s in summaries[3:])
