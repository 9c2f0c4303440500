"""Benchmarks of change control (figures, not tests).

    python bench/change_requests.py [--open 10 50 200] [--rounds 5]

Runs in a throw-away SQLite database (or DATABASE_URL when set), with the demo
pipelines (production under change control). For each number of open change requests
(overrides of customer-onboarding in production, opened by one publisher), prints the
median time of what a page costs a second publisher:
- the navigation's badge (`open_requests_count`), worked out on every console page;
- the "Waiting for you" list on /changes/ (`waiting_for`);
- one request's standing (`request_standing`: its plan, approvals and gate), as the
  request's page and every approve or apply work it out.
Medians of interleaved rounds, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.batches import demo_setup


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--open", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    admin, pipeline, _ = demo_setup({})
    from django.contrib.auth.models import Group
    from django.db import transaction

    from pipelines_admin.changes.models import ChangeRequest
    from pipelines_admin.changes.selectors import open_requests_count, request_standing, waiting_for
    from pipelines_admin.changes.services import change_submit
    from pipelines_admin.configs.models import Environment

    production = Environment.objects.get(name="production")
    publishers = [
        type(admin).objects.create_user(name, password="bench-password-1")  # noqa: S106 - a throwaway bench database
        for name in ("bench-author", "bench-approver")
    ]
    for user in publishers:
        user.groups.set(Group.objects.filter(name__in=("viewer", "editor", "publisher")))
    author, approver = publishers
    print(f"{'open requests':>14} {'badge ms':>10} {'waiting list ms':>16} {'one standing ms':>16}")
    made = 0
    for target in sorted(args.open):
        with transaction.atomic():
            while made < target:
                made += 1
                change_submit(
                    kind="override",
                    pipeline=pipeline,
                    environment=production,
                    actor=author,
                    reason=f"bench {made}",
                    override={"description": f"bench override {made}"},
                )
        one = ChangeRequest.objects.order_by("-id").first()
        badge, listing, standing = [], [], []
        for _ in range(args.rounds):
            approver._console_roles = None
            started = time.perf_counter()
            open_requests_count(approver)
            badge.append(time.perf_counter() - started)
            started = time.perf_counter()
            waiting_for(approver)
            listing.append(time.perf_counter() - started)
            started = time.perf_counter()
            request_standing(one)
            standing.append(time.perf_counter() - started)
        print(
            f"{target:>14} {statistics.median(badge) * 1000:>10.1f} {statistics.median(listing) * 1000:>16.1f} "
            f"{statistics.median(standing) * 1000:>16.1f}"
        )


if __name__ == "__main__":
    main()
