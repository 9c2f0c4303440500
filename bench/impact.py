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
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from batches import applications, batch_in_process, demo_setup, engine_alone_rate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--chunk-size", type=int, default=500)
    args = parser.parse_args()

    admin, pipeline, environment = demo_setup(
        {"BATCH_CHUNK_SIZE": str(args.chunk_size), "IMPACT_CHUNK_SIZE": str(args.chunk_size)}
    )
    from pipelines_admin.configs.services import config_version_create
    from pipelines_admin.impact.selectors import impact_summary
    from pipelines_admin.impact.services import impact_chunk_process, impact_start

    records = applications(args.runs)
    engine_rate = engine_alone_rate(pipeline, environment, records)
    _, batch_seconds = batch_in_process(pipeline, environment, records, admin)

    v1 = pipeline.versions.get()
    document = v1.document
    credit = next(
        rule
        for stage in document["stages"].values()
        for rule in stage["rules"].values()
        if rule["class"] == "CreditScoreRule"
    )
    credit["params"]["minimum_score"] = 700
    v2 = config_version_create(
        pipeline=pipeline,
        document=document,
        base_version=v1,
        author=admin,
        message="credit score minimum 700",
    )
    started = time.perf_counter()
    report = impact_start(pipeline=pipeline, environment=environment, actor=admin, version=v2, last=args.runs)
    for chunk_id in report.chunks.order_by("index").values_list("pk", flat=True):
        impact_chunk_process(chunk_id)
    replay_seconds = time.perf_counter() - started
    report.refresh_from_db()
    summary = impact_summary(report)

    batch_rate, replay_rate = args.runs / batch_seconds, args.runs / replay_seconds
    print(f"engine alone  {engine_rate:8.0f} applications/s  (one run each, nothing stored)")
    print(
        f"plain batch   {batch_rate:8.0f} applications/s  ({args.runs} applications, chunks of {args.chunk_size}, "
        f"{batch_seconds:.1f} s)"
    )
    print(
        f"impact replay {replay_rate:8.0f} applications/s  ({summary.replayed} replayed twice, "
        f"{replay_seconds:.1f} s; {summary.flips['to_fail']} would now fail, {summary.flips['to_pass']} now pass)"
    )
    print(f"ratio replay / batch: {replay_rate / batch_rate:.2f}  (target at least 0.40)")


if __name__ == "__main__":
    main()
