"""Peak memory of ``python -m rules_engine run`` against the number of records (figures, not tests).

    python bench/cli_memory.py [--seed-dir DIR] [--small N] [--large N]

Writes N applications (bench/engine.py's applicants, each made distinct) as
JSONL and as CSV into a temporary folder, runs the seed's onboarding pipeline
(customer_onboarding_config.json, found as bench/engine.py finds it) over each file in
a child process with its output thrown away, and prints the child's peak resident set
size (ru_maxrss from os.wait4, that child alone) for N = 1,000 and 100,000, with the
ratio. The CLI streams JSON lines and CSV, so the target is a ratio of at most 1.2.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from engine import APPLICANTS, REPO, find_onboarding_config

TARGET_RATIO = 1.2
PEOPLE = cast("list[dict[str, Any]]", APPLICANTS)


def applications(count: int) -> Iterator[dict[str, Any]]:
    for i in range(count):
        record = dict(PEOPLE[i % len(PEOPLE)])
        record["name"] = f"{record['name']} {i}"
        if "email" in record:
            record["email"] = f"applicant{i}@example.com"
        yield record


def write_jsonl(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in applications(count):
            out.write(json.dumps(record) + "\n")


def write_csv(path: Path, count: int) -> None:
    columns = list(dict.fromkeys(key for applicant in PEOPLE for key in applicant))
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(applications(count))


def peak_rss_kib(config: Path, records: Path) -> tuple[int, float, int]:
    """The CLI's peak RSS in KiB running ``records``, its wall time, and its exit status."""
    started = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, "-m", "rules_engine", "run", str(config), "--input", str(records)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    ) as process:
        assert process.stderr is not None
        errors = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"the CLI exited {process.returncode}: {errors.decode(errors='replace')}")
    return usage.ru_maxrss, time.perf_counter() - started, process.returncode  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed-dir", type=Path, help="folder holding customer_onboarding_config.json")
    parser.add_argument("--small", type=int, default=1_000, help="records in the small input")
    parser.add_argument("--large", type=int, default=100_000, help="records in the large input")
    args = parser.parse_args()
    config = find_onboarding_config(args.seed_dir)
    print(f"config: {config.name}")
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for fmt, write in (("jsonl", write_jsonl), ("csv", write_csv)):
            peaks = []
            for count in (args.small, args.large):
                path = Path(folder) / f"applications-{count}.{fmt}"
                write(path, count)
                size = path.stat().st_size
                peak, seconds, status = peak_rss_kib(config, path)
                path.unlink()
                peaks.append(peak)
                print(
                    f"{fmt:5} {count:>7} records ({size / 1024:,.0f} KiB in): peak RSS {peak / 1024:6.1f} MiB, "
                    f"{seconds:5.1f} s ({count / seconds:,.0f} records/s), exit {status}"
                )
            ratio = peaks[1] / peaks[0]
            worst = max(worst, ratio)
            print(
                f"{fmt:5} ratio {args.large:,} / {args.small:,} records: {ratio:.3f} (target <= {TARGET_RATIO})"
            )
    print(f"worst ratio {worst:.3f}: {'met' if worst <= TARGET_RATIO else 'NOT met'}")
    return 0 if worst <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
