"""/metrics: the figures Prometheus scrapes match the runs, batches, suites, gate
overrides and sweep recoveries made through the services; the endpoint wants its bearer
token, whatever the console's login says."""

from __future__ import annotations

import base64
import json
import math
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from pipelines_admin.configs import services as config_services
from pipelines_admin.impact import services as impact_services
from pipelines_admin.impact import tasks as impact_tasks
from pipelines_admin.impact.models import ImpactChunk
from pipelines_admin.metrics.collectors import LE_BOUNDS
from pipelines_admin.releases import services as release_services
from pipelines_admin.runs import batches, services, tasks
from pipelines_admin.runs.metrics import LATENCY_BOUNDS_MS, RollupAccumulator
from pipelines_admin.runs.models import BatchChunk, MetricRollup, MetricTotal, Run
from pipelines_admin.testcases import services as suite_services
from pipelines_admin.testcases import tasks as suite_tasks
from pipelines_admin.testcases.models import SuiteRun
from tests.pipelines_admin.conftest import ADULT, BAD_EMAIL, MINOR, through_change_request

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-the-tests-0123456789"


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


@pytest.fixture
def broker_accepts_everything(monkeypatch):
    """The broker takes every task and delivers none: what is sent stays queued here."""
    for task in (
        tasks.execute_run,
        tasks.process_batch_chunk,
        suite_tasks.run_suite,
        impact_tasks.process_impact_chunk,
    ):
        monkeypatch.setattr(task, "apply_async", lambda *args, **kwargs: None)


def scrape(client=None, token: str = TOKEN) -> dict:
    """/metrics parsed by prometheus-client's own parser: {family name: family}."""
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def samples(families: dict, name: str, **labels) -> list:
    return [
        s
        for family in families.values()
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]


def value(families: dict, name: str, **labels) -> float:
    found = samples(families, name, **labels)
    assert len(found) == 1, f"{name} {labels}: {found}"
    return found[0].value


def jsonl(*records) -> bytes:
    return ("\n".join(json.dumps(r) for r in records) + "\n").encode()


def test_metrics__runs_batches_suite_gate_and_sweep__figures_match_what_was_made(
    released, environments, editor, publisher, cases, settings, metrics_token, broker_accepts_everything
):
    development = environments["development"]
    later = timezone.now() + timedelta(seconds=settings.RUN_REQUEUE_AFTER_SECONDS + 60)

    def submit(record):
        return services.run_submit(pipeline=released, environment=development, record=record, actor=editor)

    # Given four runs decided by the worker's service: two adults pass, a minor and a bad email fail
    decided = [services.run_execute(submit(record).pk).status for record in (ADULT, ADULT, MINOR, BAD_EMAIL)]
    assert decided == ["passed", "passed", "failed", "failed"]
    # and a batch of three written chunk by chunk, and one of five still waiting (three chunks)
    settings.BATCH_CHUNK_SIZE = 2
    done = batches.batch_create(
        pipeline=released,
        environment=development,
        filename="done.jsonl",
        data=jsonl(ADULT, MINOR, ADULT),
        actor=editor,
    )
    for chunk_id in done.chunks.values_list("pk", flat=True):
        batches.batch_chunk_process(chunk_id)
    waiting = batches.batch_create(
        pipeline=released,
        environment=development,
        filename="waiting.jsonl",
        data=jsonl(*[ADULT] * 5),
        actor=editor,
    )
    # and a run the broker never got, and one whose worker died on every attempt
    submit(ADULT)
    stuck = submit(ADULT)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Run.objects.filter(pk=stuck.pk).update(
        status="running",
        attempts=settings.RUN_MAX_ATTEMPTS,
        started_at=an_hour_ago,
        lease_expires_at=an_hour_ago,
    )
    # and the sweep, run later: it sends the lost run, the stuck run and the waiting chunks, and the
    # stuck run's next delivery gives up on it
    swept = {**services.runs_sweep(now=later), "gave_up": 1}
    assert swept["enqueued"] == 1 and batches.chunks_sweep(now=later)["chunks_requeued"] == 3
    assert services.run_execute(stuck.pk).status == "error"
    # and a release to production without a passing test suite, a suite that passed, one still
    # queued, and an impact analysis waiting for its worker
    through_change_request(
        kind="release",
        pipeline=released,
        environment=environments["production"],
        version=1,
        actor=publisher,
        reason="the auditors asked",
    )
    assert (
        suite_services.suite_run_now(pipeline=released, environment=development, actor=editor).status
        == "passed"
    )
    suite_services.suite_start(pipeline=released, environment=development, actor=editor)
    document = released.versions.get(number=1).document
    document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = 21
    v2 = config_services.config_version_create(
        pipeline=released,
        document=document,
        base_version=released.versions.get(number=1),
        author=editor,
        message="minimum age 21",
    )
    impact_services.impact_start(pipeline=released, environment=development, actor=editor, version=v2, last=5)

    # When Prometheus scrapes /metrics
    families = scrape()

    where = {"pipeline": "onboarding", "environment": "development"}
    finished = Run.objects.filter(status__in=Run.FINISHED)
    # Then runs are counted by status, as the database holds them: 2 + 2 passed, 2 + 1 failed, the given-up one in error
    assert families["rules_console_runs"].type == "counter"
    by_status = Counter(finished.values_list("status", flat=True))
    assert by_status == {"passed": 4, "failed": 3, "error": 1}
    for status in ("passed", "failed", "review", "undecided", "error"):
        assert value(families, "rules_console_runs_total", **where, status=status) == by_status.get(status, 0)
    # and every rule outcome of every finished run is counted once
    outcomes = Counter(
        (stage["name"], rule["id"], rule["outcome"])
        for run in finished.exclude(result=None)
        for stage in run.result["stages"]
        for rule in stage["rules"]
    )
    scraped = {
        (s.labels["stage"], s.labels["rule"], s.labels["outcome"]): s.value
        for s in samples(families, "rules_console_rule_outcomes_total", **where)
    }
    assert {key: n for key, n in scraped.items() if n} == dict(outcomes)
    assert outcomes[("business_rules", "age_verification", "fail")] == 2  # the two minors
    # and the run latency histogram holds every timed run, in the rollups' bounds in seconds, cumulative
    assert families["rules_console_run_duration_seconds"].type == "histogram"
    durations = list(finished.exclude(duration_ms=None).values_list("duration_ms", flat=True))
    assert len(durations) == 7  # the given-up run never ran
    buckets = samples(families, "rules_console_run_duration_seconds_bucket", **where)
    assert [s.labels["le"] for s in buckets] == list(LE_BOUNDS)
    assert [float(s.labels["le"]) for s in buckets[:-1]] == [ms / 1000 for ms in LATENCY_BOUNDS_MS]
    assert [s.value for s in buckets[:-1]] == [sum(d <= ms for d in durations) for ms in LATENCY_BOUNDS_MS]
    assert buckets[-1].value == value(families, "rules_console_run_duration_seconds_count", **where) == 7
    assert math.isclose(
        value(families, "rules_console_run_duration_seconds_sum", **where),
        sum(durations) / 1000,
        rel_tol=1e-9,
    )
    # and the rule and stage histograms count each timed rule and stage
    for level, key in (("rule", lambda stage, rule: (stage["name"], rule["id"])), ("stage", None)):
        timed = Counter()
        for run in finished.exclude(result=None):
            for stage in run.result["stages"]:
                if level == "stage":
                    timed[stage["name"]] += stage.get("duration_ms") is not None
                else:
                    for rule in stage["rules"]:
                        timed[key(stage, rule)] += (
                            rule["outcome"] != "skip" and rule.get("duration_ms") is not None
                        )
        counted = Counter()
        for s in samples(families, f"rules_console_{level}_duration_seconds_count", **where):
            counted[s.labels["stage"] if level == "stage" else (s.labels["stage"], s.labels["rule"])] += (
                s.value
            )
        assert +counted == +timed and sum(timed.values()) > 0
        for s in samples(families, f"rules_console_{level}_duration_seconds_count", **where):
            infinite = [
                b
                for b in samples(families, f"rules_console_{level}_duration_seconds_bucket", **s.labels)
                if b.labels["le"] == "+Inf"
            ]
            assert [b.value for b in infinite] == [s.value]
    # and the batch still waiting, its applications and the queues
    assert value(families, "rules_console_batches", **where, status="queued") == 1
    assert samples(families, "rules_console_batches", status="running") == []  # the done one is complete
    assert value(families, "rules_console_batch_applications_left", **where) == 5
    assert (
        value(families, "rules_console_queue_depth", queue="runs") == 1
    )  # the lost run, sent but not delivered
    assert value(families, "rules_console_queue_depth", queue="batch_chunks") == 3 == waiting.chunks.count()
    assert value(families, "rules_console_queue_depth", queue="suite_runs") == 1
    assert (
        value(families, "rules_console_queue_depth", queue="impact_chunks") == ImpactChunk.objects.count() > 0
    )
    # and the sweep's recoveries, the gate override and the suite that passed
    # (the sweep's clock is ahead of the one that stamped the lost run's send: it sent it twice, as it says)
    for action in ("enqueued", "requeued", "gave_up"):
        assert (
            value(families, "rules_console_sweep_recoveries_total", kind="run", action=action)
            == swept[action]
        )
    assert value(families, "rules_console_sweep_recoveries_total", kind="batch_chunk", action="enqueued") == 3
    assert (
        value(
            families,
            "rules_console_release_gate_overrides_total",
            pipeline="onboarding",
            environment="production",
        )
        == 1
    )
    assert value(families, "rules_console_suite_runs_total", **where, status="passed") == 1
    assert samples(families, "rules_console_suite_runs_total", status="queued") == []


def test_metrics__lost_and_exhausted_suites_and_chunks__each_recovery_counted_by_kind(
    released, environments, editor, cases, settings, metrics_token, broker_accepts_everything
):
    development = environments["development"]
    later = timezone.now() + timedelta(seconds=settings.RUN_REQUEUE_AFTER_SECONDS + 60)
    for record in (ADULT, MINOR):
        services.run_execute(
            services.run_submit(pipeline=released, environment=development, record=record, actor=editor).pk
        )
    # Given a suite run and an impact analysis the broker never got, swept later
    suite = suite_services.suite_start(pipeline=released, environment=development, actor=editor)
    document = released.versions.get(number=1).document
    document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = 21
    v2 = config_services.config_version_create(
        pipeline=released,
        document=document,
        base_version=released.versions.get(number=1),
        author=editor,
        message="minimum age 21",
    )
    report = impact_services.impact_start(
        pipeline=released, environment=development, actor=editor, version=v2, last=2
    )
    assert suite_services.suites_sweep(later)["suites_requeued"] == 1
    assert impact_services.impact_sweep(later)["impact_chunks_requeued"] == report.chunks.count() == 1
    # and, delivered once more after their workers died on every attempt, the suite run, the
    # impact chunk and a batch chunk
    SuiteRun.objects.filter(pk=suite.pk).update(attempts=settings.RUN_MAX_ATTEMPTS)
    suite_services.suite_execute(suite.pk)
    ImpactChunk.objects.filter(report=report).update(attempts=settings.RUN_MAX_ATTEMPTS)
    impact_services.impact_chunk_process(report.chunks.get().pk)
    batch = batches.batch_create(
        pipeline=released, environment=development, filename="a.jsonl", data=jsonl(ADULT), actor=editor
    )
    BatchChunk.objects.filter(batch=batch).update(attempts=settings.RUN_MAX_ATTEMPTS)
    batches.batch_chunk_process(batch.chunks.get().pk)
    # When Prometheus scrapes /metrics
    families = scrape()
    # Then each is counted under its kind and action, and nothing else
    recoveries = {
        (s.labels["kind"], s.labels["action"]): s.value
        for s in samples(families, "rules_console_sweep_recoveries_total")
    }
    assert {key: n for key, n in recoveries.items() if n} == {
        ("suite_run", "enqueued"): 1,
        ("impact_chunk", "enqueued"): 1,
        ("suite_run", "gave_up"): 1,
        ("impact_chunk", "gave_up"): 1,
        ("batch_chunk", "gave_up"): 1,
    }
    assert len(recoveries) == 12  # every kind and action, zeros included
    # and the suite that gave up is an error among the suite results
    assert (
        value(
            families,
            "rules_console_suite_runs_total",
            pipeline="onboarding",
            environment="development",
            status="error",
        )
        == 1
    )


def test_metrics__scrape__reads_no_run_rows_and_a_fixed_number_of_queries(
    released, environments, editor, metrics_token
):
    # Given runs already counted
    for record in (ADULT, MINOR, ADULT):
        services.run_execute(
            services.run_submit(
                pipeline=released, environment=environments["development"], record=record, actor=editor
            ).pk
        )
    client = Client()
    # When /metrics is scraped
    with CaptureQueriesContext(connection) as queries:
        scrape(client)
    # Then the runs table is only read through its status index: the queued runs counted, and the
    # runs in review (the review backlog, those without a decided case); and the number of
    # queries does not depend on the data
    run_queries = [q["sql"] for q in queries.captured_queries if '"runs_run"' in q["sql"]]
    queued, review = run_queries
    assert "COUNT(*)" in queued and '"runs_run"."status" = \'queued\'' in queued
    assert '"runs_run"."status" = \'review\'' in review and "NOT EXISTS" in review
    assert len(queries.captured_queries) <= 13


def test_metric_totals__flush_over_two_buckets__equal_the_rollups_of_each_grain_summed(
    released, environments
):
    # Given runs finished in two five-minute buckets, counted by one accumulator
    development = environments["development"]
    accumulator = RollupAccumulator()
    result = {
        "stages": [
            {
                "name": "data_quality",
                "status": "passed",
                "duration_ms": 2.0,
                "rules": [
                    {"id": "email_format", "outcome": "pass", "duration_ms": 0.3},
                    {"id": "required_fields", "outcome": "skip", "duration_ms": 0.0},
                ],
            }
        ]
    }
    for minute, status, ms in ((1, "passed", 3.0), (7, "failed", 700.0), (8, "passed", 12000.0)):
        accumulator.add_run(
            pipeline_id=released.pk,
            environment_id=development.pk,
            finished_at=datetime(2026, 3, 1, 10, minute, tzinfo=UTC),
            status=status,
            result=result,
            duration_ms=ms,
        )
    # When it is flushed
    accumulator.flush()

    def summed(rows_of) -> dict:
        rows = {}
        for row in rows_of:
            key = (row.stage, row.rule)
            acc = rows.setdefault(key, {"counts": Counter(), "histogram": None, "total": 0, "sum_ms": 0.0})
            acc["counts"].update(row.counts)
            acc["histogram"] = [
                a + b
                for a, b in zip(acc["histogram"] or [0] * len(row.histogram), row.histogram, strict=True)
            ]
            acc["total"] += row.total
            acc["sum_ms"] += row.sum_ms
        return rows

    # Then the totals are the rollups of both buckets added up, one row per stage and rule,
    # and so are the hour's and the day's rollups
    grains = MetricRollup.Grain
    assert (
        MetricRollup.objects.filter(grain=grains.FIVE_MINUTES).values("bucket_start").distinct().count() == 2
    )
    assert MetricTotal.objects.count() == 4  # the run, the stage, its two rules
    for grain in grains:
        assert MetricRollup.objects.filter(grain=grain).count() == 4 * (
            2 if grain == grains.FIVE_MINUTES else 1
        )
        assert summed(MetricTotal.objects.all()) == summed(MetricRollup.objects.filter(grain=grain)), grain
    assert MetricTotal.objects.get(stage="", rule="").counts == {"passed": 2, "failed": 1}


# -- the token ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer not-the-token",
        f"Bearer {TOKEN[:-1]}",
        f"Bearer {TOKEN}x",
        "Bearer ",
        TOKEN,
        f"Token {TOKEN}",
        "Basic " + base64.b64encode(f"metrics:{TOKEN}".encode()).decode(),
        "Bearer tök\u00e9n\u2603",
    ],
    ids=["none", "wrong", "prefix", "longer", "empty", "no-scheme", "other-scheme", "basic", "non-ascii"],
)
def test_metrics__missing_or_wrong_token__401_without_figures(metrics_token, authorization):
    # Given a scraper without the right bearer token
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    # When it asks for /metrics
    response = Client().get("/metrics", **headers)
    # Then it is refused, told how to authenticate, and shown nothing
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"rules_console" not in response.content


def test_metrics__scheme_in_any_case__200(metrics_token):
    # Given / When the scheme is spelled in lower case (HTTP schemes are case-insensitive) / Then it is accepted
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"bearer {TOKEN}").status_code == 200


@pytest.mark.parametrize("authorization", [None, "Bearer ", "Bearer anything"], ids=["none", "empty", "any"])
def test_metrics__token_not_configured__404_never_open(settings, authorization):
    # Given METRICS_TOKEN unset
    settings.METRICS_TOKEN = ""
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    # When anyone asks for /metrics, with an empty token or any other
    response = Client().get("/metrics", **headers)
    # Then the endpoint is off
    assert response.status_code == 404
    assert b"rules_console" not in response.content


def test_metrics__console_login__neither_needed_nor_enough(metrics_token, superuser):
    # Given a superuser logged in to the console, without the token
    console = Client()
    console.force_login(superuser)
    # When they ask for /metrics / Then the session does not count: 401
    assert console.get("/metrics").status_code == 401
    # When a scraper with the token asks without any session
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    # Then it gets the figures, not the login page
    assert response.status_code == 200 and b"rules_console_queue_depth" in response.content


def test_metrics__post__405(metrics_token):
    assert Client().post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


def test_metrics__slow_rules_and_alerts__counted_apart_from_outcomes(
    metrics_token, released, environments, editor
):
    # Given development's config flagging every rule slower than 0 ms and alerting on timeouts,
    # with a business-rules stage too short to finish
    release_services.override_set(
        pipeline=released,
        environment=environments["development"],
        actor=editor,
        override={
            "execution_settings": {
                "performance_monitoring": {"slow_rule_threshold_ms": 0, "alert_on_timeout": True}
            },
            "stages": {"business_rules": {"timeout_seconds": 0.000001}},
        },
    )
    # When an application runs
    run = services.run_submit(
        pipeline=released, environment=environments["development"], record=ADULT, actor=editor
    )
    services.run_execute(run.pk)
    families = scrape()
    where = {"pipeline": "onboarding", "environment": "development"}
    # Then the rules that ran are counted slow once each, the timeout once as an alert,
    # and "slow" is no rule outcome
    assert (
        value(
            families, "rules_console_slow_rules_total", **where, stage="data_quality", rule="required_fields"
        )
        == 1
    )
    assert (
        value(
            families,
            "rules_console_alerts_total",
            **where,
            kind="timeout",
            stage="business_rules",
            rule="age_verification",
        )
        == 1
    )
    assert not samples(families, "rules_console_rule_outcomes_total", outcome="slow")
