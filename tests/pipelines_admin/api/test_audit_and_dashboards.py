"""Audit events (filters, cursor pagination, JSONL export with the hash chain) and the
dashboard summary."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from pipelines_admin.audit.models import GENESIS_HASH, AuditEvent
from pipelines_admin.audit.services import event_hash
from pipelines_admin.runs import services
from pipelines_admin.runs.metrics import bucket_start
from tests.pipelines_admin.api.conftest import assert_error

pytestmark = pytest.mark.django_db

APPLICANT = {"name": "Maria Garcia", "email": "maria.garcia@example.com", "date_of_birth": "1990-04-12"}


def test_audit_list__action_filter__only_matching_newest_first(token_client, viewer, released):
    # Given a created and released pipeline / When filtered by action / Then only the release
    body = token_client(viewer).get("/api/v1/audit/?action=release.created&pipeline=onboarding").json()
    assert [e["action"] for e in body["results"]] == ["release.created"]
    assert body["results"][0]["actor"] == "eddie" and body["results"][0]["environment"] == "development"


def test_audit_list__cursor_pages__every_event_once(token_client, viewer, released):
    # Given the events of creating and releasing a pipeline (and the token's)
    total = AuditEvent.objects.count()
    client, url, seen = token_client(viewer), "/api/v1/audit/?page_size=1", []
    # When paged one by one / Then each comes once, in descending sequence
    while url:
        page = client.get(url).json()
        seen += [e["sequence"] for e in page["results"]]
        url = page["next"]
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == total + 1


def test_audit_list__after_sequence_and_time_window__new_events_only(token_client, viewer, released):
    # Given the last sequence seen / When asked for what follows / Then only newer events
    last = AuditEvent.objects.order_by("-sequence").first().sequence
    client = token_client(viewer)  # its token's creation is one more event
    body = client.get(f"/api/v1/audit/?after_sequence={last}").json()
    assert [e["action"] for e in body["results"]] == ["api_token.created"]
    future = (timezone.now() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert client.get("/api/v1/audit/", {"since": future}).json()["results"] == []


def test_audit_list__since_after_until__400(token_client, viewer, environments):
    # Given a window that ends before it starts / When listing / Then 400 on until
    response = token_client(viewer).get(
        "/api/v1/audit/", {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}
    )
    assert assert_error(response, 400)["extra"]["fields"] == {"until": ["must be after since"]}


def test_audit_export__jsonl__chain_order_verifiable_outside(token_client, viewer, released):
    # Given the trail / When exported
    response = token_client(viewer).get("/api/v1/audit/export.jsonl")
    # Then one JSON event per line, oldest first, each linked to the one before by its hash
    assert response["Content-Type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    previous = GENESIS_HASH
    for event in events:
        assert event["prev_hash"] == previous
        assert event["hash"] == event_hash(AuditEvent.objects.get(sequence=event["sequence"]))
        previous = event["hash"]


def test_audit_export__filtered__only_matching(token_client, viewer, released):
    # Given the trail / When exported for one action / Then only its events
    response = token_client(viewer).get("/api/v1/audit/export.jsonl?action=pipeline.created")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [json.loads(line)["object_repr"] for line in lines] == ["Onboarding"]


def test_dashboard_summary__after_runs__counts_and_latency(
    token_client, editor, viewer, released, environments
):
    # Given two executed runs, one failing
    for record in (APPLICANT, {**APPLICANT, "email": "nope"}):
        run = services.run_submit(
            pipeline=released, environment=environments["development"], record=record, actor=editor
        )
        services.run_execute(run.pk)
    # When the summary of the last 24 hours is asked for
    body = (
        token_client(viewer)
        .get("/api/v1/dashboards/summary/?pipeline=onboarding&environment=development")
        .json()
    )
    # Then it counts them, from the rollups
    assert (body["pipeline"], body["hours"], body["total_runs"]) == ("onboarding", 24, 2)
    assert body["counts"] == {"passed": 1, "failed": 1} and body["failure_rate"] == 0.5
    assert body["latency"]["p50"] is not None
    assert body["failing_rules"][0]["rule"] == "email_format"


def test_dashboard_summary__an_empty_bucket_between_runs__a_zero_there_like_the_console(
    token_client, editor, viewer, released, environments, monkeypatch
):
    # Given a run at 10:01 and one at 10:11, none between 10:05 and 10:10
    start = bucket_start(timezone.now()) - timedelta(hours=2)
    for minute in (1, 11):
        monkeypatch.setattr(timezone, "now", lambda minute=minute: start + timedelta(minutes=minute))
        services.run_execute(
            services.run_submit(
                pipeline=released, environment=environments["development"], record=APPLICANT, actor=editor
            ).pk
        )
    # When the last hour's summary is asked for at 10:12
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(minutes=12))
    series = token_client(viewer).get("/api/v1/dashboards/summary/?hours=1").json()["series"]
    # Then every five-minute slot of the hour is there, the empty one between the runs a zero
    assert len(series["labels"]) == 12
    first = series["labels"].index(start.isoformat())
    assert series["passed"][first : first + 3] == [1, 0, 1]
    assert series["failed"] == series["error"] == [0] * 12


def test_dashboard_summary__bad_filters__404_and_400(token_client, viewer, environments):
    # Given an unknown pipeline or zero hours / When summarised / Then 404 and 400
    client = token_client(viewer)
    assert_error(client.get("/api/v1/dashboards/summary/?pipeline=ghost"), 404)
    assert "hours" in assert_error(client.get("/api/v1/dashboards/summary/?hours=0"), 400)["extra"]["fields"]
