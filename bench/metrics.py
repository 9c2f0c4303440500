"""Benchmark of /metrics: scrape time over many rollups and runs (figures, not tests).

    python bench/metrics.py [--rollup-rows N] [--runs N] [--scrapes N]

Runs in a throw-away SQLite database (or DATABASE_URL when set, created when missing:
`scripts/with-services .venv/bin/python bench/metrics.py` measures PostgreSQL), with the
demo pipelines. It fills the database as months of traffic would leave it:
1. a real batch of 500 applications through customer-onboarding (real rules, rollups
   and totals);
2. N metric rollup rows (default 100,000): every stage and rule of the pipeline plus the
   run itself, in development, staging and production, one five-minute bucket after
   another going back in time; then the all-time totals rebuilt from every rollup (what
   the migration that added them does on an existing database; its time is printed);
3. N finished runs (default 200,000), plus 100 queued ones, a few queued batch chunks.

Then it scrapes /metrics with the token through Django's test client, as Prometheus
would, and prints the median and worst time, the number of queries and series, and the
time of each family. For comparison it times what reading the rollups at scrape time
would cost instead of the totals: the run and rule counts and histograms summed out of
the rollups' JSON in SQL (one aggregate query per family).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "bench" / "load"))

from batches import applications, batch_in_process, demo_setup  # noqa: E402

TOKEN = "bench-metrics-token-0123456789abcdef"  # noqa: S105 - the bench server's own


def rollups_fill(pipeline, rows: int) -> tuple[int, float]:
    """`rows` rollup rows of the pipeline's stages and rules across three environments,
    then the totals rebuilt from all of them: (rows written, seconds to rebuild totals)."""
    import importlib

    from django.apps import apps
    from django.utils import timezone

    from pipelines_admin.configs.models import Environment
    from pipelines_admin.runs.metrics import BUCKETS, bucket_start
    from pipelines_admin.runs.models import MetricRollup, MetricTotal

    document = pipeline.versions.order_by("-number").first().document
    keys = (
        [("", "")]
        + [(stage, "") for stage in document["stages"]]
        + [(stage, rule) for stage, body in document["stages"].items() for rule in body.get("rules", {})]
    )
    environments = list(Environment.objects.filter(name__in=["development", "staging", "production"]))
    per_bucket = len(keys) * len(environments)
    start = bucket_start(timezone.now()) - timedelta(days=1)  # older than the real batch's bucket
    histogram = [0] * BUCKETS
    histogram[4], histogram[6], histogram[9] = 300, 80, 20
    written, batch = 0, []
    for index in range(-(-rows // per_bucket)):
        when = start - timedelta(minutes=5 * index)
        for environment in environments:
            for stage, rule in keys:
                if written == rows:
                    break
                counts = (
                    {"passed": 300, "failed": 90, "undecided": 6, "error": 4}
                    if not stage
                    else {"passed": 390, "failed": 10}
                    if not rule
                    else {"pass": 380, "fail": 15, "skip": 5}
                )
                batch.append(
                    MetricRollup(
                        pipeline=pipeline,
                        environment=environment,
                        bucket_start=when,
                        stage=stage,
                        rule=rule,
                        counts=counts,
                        histogram=histogram,
                        total=400,
                        sum_ms=1234.5,
                    )
                )
                written += 1
        if len(batch) >= 5000:
            MetricRollup.objects.bulk_create(batch, batch_size=5000)
            batch = []
    MetricRollup.objects.bulk_create(batch, batch_size=5000)
    migration = importlib.import_module(
        "pipelines_admin.runs.migrations.0003_metric_totals_and_sweep_recoveries"
    )
    started = time.perf_counter()
    MetricTotal.objects.all().delete()
    migration.totals_from_rollups(apps, None)
    return written, time.perf_counter() - started


def runs_fill(pipeline, environment, admin, n: int) -> None:
    """n finished runs and 100 queued ones, bulk-inserted (what the runs table holds; /metrics must not read it)."""
    from pipelines_admin.configs.selectors import release_live
    from pipelines_admin.runs.models import Run

    release = release_live(pipeline, environment)
    statuses = ["passed"] * 7 + ["failed"] * 2 + ["error"]
    for first in range(0, n + 100, 5000):
        Run.objects.bulk_create(
            [
                Run(
                    pipeline=pipeline,
                    environment=environment,
                    config_version_id=release.version_id,
                    release=release,
                    effective_hash=release.effective_hash,
                    source="api",
                    submitted_by=admin,
                    status="queued" if i >= n else statuses[i % len(statuses)],
                    input_encrypted="-",
                    input_masked={},
                    duration_ms=None if i >= n else 3.0,
                )
                for i in range(first, min(first + 5000, n + 100))
            ],
            batch_size=5000,
        )


def rollup_sums_in_sql() -> dict[str, float]:
    """What the run and rule families would cost summed out of the rollups at scrape
    time (counts and histogram buckets extracted from JSON in SQL): ms per query."""
    from django.db.models import BigIntegerField, Sum
    from django.db.models.fields.json import KeyTextTransform
    from django.db.models.functions import Cast

    from pipelines_admin.runs.metrics import BUCKETS
    from pipelines_admin.runs.models import MetricRollup

    def sums(keys):
        return {
            **{f"c_{k}": Sum(Cast(KeyTextTransform(k, "counts"), BigIntegerField())) for k in keys},
            **{
                f"b{i}": Sum(Cast(KeyTextTransform(i, "histogram"), BigIntegerField()))
                for i in range(BUCKETS)
            },
            "sum_ms": Sum("sum_ms"),
        }

    queries = {
        "runs (counts and histogram)": MetricRollup.objects.filter(stage="", rule="")
        .values("pipeline_id", "environment_id")
        .annotate(**sums(["passed", "failed", "undecided", "error"])),
        "rules (counts and histograms)": MetricRollup.objects.exclude(rule="")
        .values("pipeline_id", "environment_id", "stage", "rule")
        .annotate(**sums(["pass", "fail", "skip", "error", "timeout"])),
    }
    timings = {}
    for name, queryset in queries.items():
        started = time.perf_counter()
        list(queryset.order_by())
        timings[name] = (time.perf_counter() - started) * 1000
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rollup-rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200_000)
    parser.add_argument("--scrapes", type=int, default=20)
    args = parser.parse_args()

    if not os.environ.get("VAR_DIR"):
        os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="rules-console-bench-")
    os.environ["METRICS_TOKEN"] = TOKEN
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipelines_admin.settings")
        import django

        django.setup()
        from run_load import create_database_if_missing

        create_database_if_missing()
    admin, pipeline, environment = demo_setup({})
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from prometheus_client import generate_latest

    from pipelines_admin.metrics.collectors import FAMILIES, REGISTRY, Scrape
    from pipelines_admin.runs.models import BatchChunk, MetricRollup, MetricTotal, Run

    started = time.perf_counter()
    batch_in_process(pipeline, environment, applications(500), admin)
    rows, rebuild_seconds = rollups_fill(pipeline, args.rollup_rows)
    runs_fill(pipeline, environment, admin, args.runs)
    BatchChunk.objects.filter(pk__in=BatchChunk.objects.values_list("pk", flat=True)[:3]).update(
        status="queued"
    )
    print(
        f"database: {connection.vendor}; filled in {time.perf_counter() - started:.1f} s: "
        f"{MetricRollup.objects.count():,} rollup rows, {MetricTotal.objects.count():,} total rows, "
        f"{Run.objects.count():,} runs"
    )
    print(
        f"totals rebuilt from {rows:,} rollup rows (the migration's work) in {rebuild_seconds * 1000:.0f} ms"
    )

    client = Client(HTTP_HOST="localhost")
    client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")  # warm up: imports, connection
    times = []
    for _ in range(args.scrapes):
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
            times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.status_code
    body = response.content.decode()
    series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
    print(
        f"/metrics, {args.scrapes} scrapes: median {statistics.median(times):.1f} ms, worst {max(times):.1f} ms; "
        f"{len(queries.captured_queries)} queries, {series:,} series, {len(body):,} bytes"
    )

    t0 = time.perf_counter()
    generate_latest(REGISTRY)
    print(f"  {'read and encoded, no HTTP':34s} {(time.perf_counter() - t0) * 1000:7.2f} ms, of which:")
    scrape = Scrape()
    t0 = time.perf_counter()
    scrape.totals  # noqa: B018  (the shared query, timed on its own)
    print(f"  {'metric totals (shared)':34s} {(time.perf_counter() - t0) * 1000:7.2f} ms")
    for family in FAMILIES:
        t0 = time.perf_counter()
        list(family(scrape))
        print(f"  {family.__name__:34s} {(time.perf_counter() - t0) * 1000:7.2f} ms")

    print(f"instead, summing the {MetricRollup.objects.count():,} rollup rows in SQL at each scrape:")
    for name, ms in rollup_sums_in_sql().items():
        print(f"  {name:34s} {ms:7.1f} ms")


if __name__ == "__main__":
    main()
