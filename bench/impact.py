"""Benchmark of impact analysis: replay throughput against a plain batch (figures, not tests).

    python bench/impact.py [--runs N] [--chunk-size N]

Runs in a throw-away SQLite database (or DATABASE_URL when set). N generated
applications of the demo customer-onboarding pipeline go through development as a
plain batch (chunk by chunk in this process: what the workers do), which leaves N
stored runs. Then a candidate version (the credit-score minimum raised) is analysed
against those N runs, chunk by chunk in this process: every stored input decrypted and
run twice (live config and candidate), tallied, flipped ones masked into the sample.
Prints applications/s of both and their ratio; replaying runs the engine twice per
application, so a ratio near 0.5 means the replay costs no more than its two runs.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--chunk-size", type=int, default=500)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="rules-console-bench-")
    os.environ.setdefault("VAR_DIR", workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipelines_admin.settings")
    os.environ["BATCH_CHUNK_SIZE"] = str(args.chunk_size)
    os.environ["IMPACT_CHUNK_SIZE"] = str(args.chunk_size)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from batches import applications
    from pipelines_admin.configs.demo import demo_pipelines_ensure
    from pipelines_admin.configs.engine import compiled_pipeline
    from pipelines_admin.configs.selectors import effective_config
    from pipelines_admin.configs.models import Environment, Pipeline
    from pipelines_admin.configs.services import config_version_create
    from pipelines_admin.core.canonical import canonical_json
    from pipelines_admin.impact.selectors import impact_summary
    from pipelines_admin.impact.services import impact_chunk_process, impact_start
    from pipelines_admin.runs.batches import batch_chunk_process, batch_create

    call_command("migrate", verbosity=0)
    admin = get_user_model().objects.create_superuser("bench", password="bench-password-1")
    demo_pipelines_ensure(actor=admin)
    pipeline = Pipeline.objects.get(slug="customer-onboarding")
    environment = Environment.objects.get(name="development")
    records = applications(args.runs)

    engine = compiled_pipeline(effective_config(pipeline, environment).document, environment)
    started = time.perf_counter()
    for record in records:
        engine.run(record).to_dict()
    engine_rate = args.runs / (time.perf_counter() - started)

    data = "\n".join(canonical_json(r) for r in records).encode()
    started = time.perf_counter()
    batch = batch_create(pipeline=pipeline, environment=environment, filename="bench.jsonl", data=data, actor=admin)
    for chunk_id in batch.chunks.order_by("index").values_list("pk", flat=True):
        batch_chunk_process(chunk_id)
    batch_seconds = time.perf_counter() - started

    v1 = pipeline.versions.get()
    document = v1.document
    credit = next(rule for stage in document["stages"].values() for rule in stage["rules"].values()
                  if rule["class"] == "CreditScoreRule")
    credit["params"]["minimum_score"] = 700
    v2 = config_version_create(pipeline=pipeline, document=document, base_version=v1, author=admin,
                               message="credit score minimum 700")
    started = time.perf_counter()
    report = impact_start(pipeline=pipeline, environment=environment, actor=admin, version=v2, last=args.runs)
    for chunk_id in report.chunks.order_by("index").values_list("pk", flat=True):
        impact_chunk_process(chunk_id)
    replay_seconds = time.perf_counter() - started
    report.refresh_from_db()
    summary = impact_summary(report)

    batch_rate, replay_rate = args.runs / batch_seconds, args.runs / replay_seconds
    print(f"engine alone  {engine_rate:8.0f} applications/s  (one run each, nothing stored)")
    print(f"plain batch   {batch_rate:8.0f} applications/s  ({args.runs} applications, chunks of {args.chunk_size}, "
          f"{batch_seconds:.1f} s)")
    print(f"impact replay {replay_rate:8.0f} applications/s  ({summary.replayed} replayed twice, "
          f"{replay_seconds:.1f} s; {summary.flips['to_fail']} would now fail, {summary.flips['to_pass']} now pass)")
    print(f"ratio replay / batch: {replay_rate / batch_rate:.2f}  (target at least 0.40)")


if __name__ == "__main__":
    main()
