"""Benchmarks of batches and dashboards (figures, not tests).

    python bench/batches.py [--records N] [--chunk-size N] [--days D]

Runs in a throw-away SQLite database (or DATABASE_URL when set):
1. Batch throughput: N generated applications through the demo customer-onboarding
   pipeline, chunk by chunk in this process (the work a worker does per chunk: engine
   runs, masking, encryption, one bulk write per chunk, metric rollups), against the
   engine alone on the same records. Prints applications/s and the ratio.
2. Dashboard read time over D days of rollups for a pipeline of 30 rules at one
   five-minute bucket each (what millions of runs leave behind: the dashboards never
   read runs, so their cost depends on buckets and rules, not on the number of runs).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def applications(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    states = [("CA", "94105", "415"), ("NY", "10001", "212"), ("TX", "73301", "512"), ("FL", "33101", "305")]
    out = []
    for i in range(n):
        state, zip_code, area = rng.choice(states)
        out.append(
            {
                "name": f"Applicant Number{i}",
                "email": f"applicant{i}@example.com",
                "phone": f"({area}) 555-{i % 10000:04d}",
                "area_code": area,
                "address": f"{100 + i} Main St",
                "city": "Springfield",
                "state": state,
                "zip_code": zip_code,
                "country": "US",
                "date_of_birth": f"{rng.randint(1950, 2004)}-0{rng.randint(1, 9)}-15",
                "ssn": f"{rng.randint(100, 599)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
                "annual_income": rng.randint(30000, 200000),
                "monthly_debt": rng.randint(100, 3000),
                "credit_score": rng.randint(600, 820),
            }
        )
    return out


def demo_setup(settings_env: dict[str, str]):
    """Django on a throw-away SQLite database (or DATABASE_URL when set), migrated, with
    the demo pipelines: (a superuser, customer-onboarding, development)."""
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="rules-console-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipelines_admin.settings")
    os.environ.update(settings_env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from pipelines_admin.configs.models import Environment, Pipeline
    from pipelines_admin.demo.pipelines import demo_pipelines_ensure

    call_command("migrate", verbosity=0)
    admin = get_user_model().objects.create_superuser("bench", password="bench-password-1")  # noqa: S106 - a throwaway bench database
    demo_pipelines_ensure(actor=admin)
    return (
        admin,
        Pipeline.objects.get(slug="customer-onboarding"),
        Environment.objects.get(name="development"),
    )


def engine_alone_rate(pipeline, environment, records: list[dict]) -> float:
    """Applications/s of the compiled live config alone, nothing stored."""
    from pipelines_admin.configs.engine import compiled_pipeline
    from pipelines_admin.configs.selectors import effective_config

    engine = compiled_pipeline(effective_config(pipeline, environment).document, environment)
    started = time.perf_counter()
    for record in records:
        engine.run(record).to_dict()
    return len(records) / (time.perf_counter() - started)


def batch_in_process(pipeline, environment, records: list[dict], admin):
    """The records as a batch, chunk by chunk in this process (a worker's work): (batch, seconds)."""
    from pipelines_admin.core.canonical import canonical_json
    from pipelines_admin.runs.batches import batch_chunk_process, batch_create

    data = "\n".join(canonical_json(r) for r in records).encode()
    started = time.perf_counter()
    batch = batch_create(
        pipeline=pipeline, environment=environment, filename="bench.jsonl", data=data, actor=admin
    )
    for chunk_id in batch.chunks.order_by("index").values_list("pk", flat=True):
        batch_chunk_process(chunk_id)
    seconds = time.perf_counter() - started
    batch.refresh_from_db()
    return batch, seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--chunk-size", type=int, default=250)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()

    admin, pipeline, environment = demo_setup({"BATCH_CHUNK_SIZE": str(args.chunk_size)})
    from django.utils import timezone

    from pipelines_admin.runs.metrics import BUCKETS
    from pipelines_admin.runs.models import MetricRollup
    from pipelines_admin.runs.selectors import dashboard

    records = applications(args.records)

    # 1. the engine alone, then the same records as a batch
    engine_rate = engine_alone_rate(pipeline, environment, records)
    batch, seconds = batch_in_process(pipeline, environment, records, admin)
    batch_rate = len(records) / seconds
    print(f"engine alone        {engine_rate:10.0f} applications/s")
    print(
        f"batch (one process) {batch_rate:10.0f} applications/s  ({batch.processed} processed, "
        f"chunks of {args.chunk_size}; ratio to the engine {batch_rate / engine_rate:.2f})"
    )

    # 2. dashboards over many buckets of rollups
    rules = [
        (s, r["id"]) for s in (f"s{i}" for i in range(5)) for r in ({"id": f"{s}_rule{j}"} for j in range(6))
    ]
    now = timezone.now()
    buckets = args.days * 24 * 12
    rows = []
    for b in range(buckets):
        start = now - timedelta(minutes=5 * b)
        start = start.replace(second=0, microsecond=0, minute=start.minute - start.minute % 5)
        histogram = [0] * BUCKETS
        histogram[5] = 400
        rows.append(
            MetricRollup(
                pipeline=pipeline,
                environment=environment,
                bucket_start=start,
                stage="",
                rule="",
                counts={"passed": 300, "failed": 100},
                histogram=histogram,
                total=400,
                sum_ms=800.0,
            )
        )
        rows += [
            MetricRollup(
                pipeline=pipeline,
                environment=environment,
                bucket_start=start,
                stage=s,
                rule=r,
                counts={"pass": 390, "fail": 10},
                histogram=histogram,
                total=400,
                sum_ms=100.0,
            )
            for s, r in rules
        ]
    MetricRollup.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    runs_represented = buckets * 400
    for hours in (24, args.days * 24):
        started = time.perf_counter()
        data = dashboard(pipeline=pipeline, hours=hours)
        elapsed = time.perf_counter() - started
        print(
            f"dashboard, last {hours:4d} h: {elapsed * 1000:8.1f} ms over {data['total_runs']:,} runs "
            f"({MetricRollup.objects.count():,} rollup rows in the table; {runs_represented:,} runs in all)"
        )


if __name__ == "__main__":
    main()
