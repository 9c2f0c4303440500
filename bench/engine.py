"""Benchmarks of the rule engine (figures, not tests).

    python bench/engine.py [--seed-dir DIR] [--seconds S] [--latency-ms MS] [--skip-shared]

1. Throughput of the seed's onboarding pipeline (customer_onboarding_config.json, run
   as written, sequential where it says so) on zero-latency simulated services.
2. Parallel stages against their critical path, with services that take L ms
   (--latency-ms, 50 by default):
   a. four independent L ms rules, max_parallel_rules 4 (critical path L ms);
   b. a chain of two beside two independent ones (critical path 2 L ms);
   c. the onboarding pipeline on simulated services with latency_ms=L: wall time per
      record against the critical path computed from the rules' own durations
      (parallel stage: longest dependency chain; sequential stage: the sum).
   Target: wall time at most 1.2 x the critical path.
3. The shared engine benchmark (../shared/bench/engine_bench.py) at 20, 100 and 500
   rules per stage, sequential and --parallel. Targets: project/limit time ratio at
   most 3.0 at 100 rules per stage; per-rule cost at 500 within 1.3 x of that at 20;
   --parallel no slower than 1.5 x sequential.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import rules_engine  # noqa: E402
from rules_engine.rule import Rule, passed  # noqa: E402
from rules_engine.services.registry import ServiceRegistry  # noqa: E402

ONBOARDING = "customer_onboarding_config.json"
APPLICANTS = [
    {
        "name": "Ann Marie Smith",
        "email": " Ann.Smith@Example.com ",
        "phone": "(212) 555-0100",
        "address": "1 Main St",
        "city": "New York",
        "state": "NY",
        "zip_code": "10001",
        "date_of_birth": "1990-04-01",
        "ssn": "123-45-6789",
        "annual_income": 90000,
        "country": "US",
    },
    {
        "name": "Bob Jones",
        "email": "bob.jones@example.org",
        "phone": "415-555-0199",
        "address": "2 Market St",
        "city": "San Francisco",
        "state": "CA",
        "zip_code": "94105",
        "date_of_birth": "1985-11-30",
        "ssn": "987-65-4321",
        "annual_income": 120000,
        "country": "US",
    },
    {
        "name": "Cy Young",
        "phone": "not a phone",
        "address": "3 Elm St",
        "city": "Austin",
        "state": "TX",
        "zip_code": "73301",
        "date_of_birth": "2010-01-01",
        "country": "US",
    },
]


def find_onboarding_config(seed_dir: Path | None) -> Path:
    """The seed's onboarding config: --seed-dir, then ../shared/seed, then the copy in the package."""
    candidates = [seed_dir / ONBOARDING] if seed_dir else []
    candidates += [
        REPO.parent / "shared" / "seed" / ONBOARDING,
        REPO / "rules_engine" / "examples" / "customer_onboarding.json",
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise SystemExit(f"cannot find {ONBOARDING}; tried: {', '.join(map(str, candidates))}")


def throughput(pipeline, records, seconds: float) -> float:
    for record in records:
        pipeline.run(record)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for record in records:
            pipeline.run(record)
        done += len(records)
    return done / (time.perf_counter() - started)


# ------------------------------------------------------------------ critical paths


class SleepyServiceRule(Rule):
    """Calls its service (which sleeps) and passes."""

    params_schema = {"type": "object"}
    default_services = {"svc": "SleepService"}

    def evaluate(self, data, ctx):
        self.services["svc"]()
        return passed("slept")


def sleepy_registry(seconds: float) -> ServiceRegistry:
    return ServiceRegistry().bind("SleepService", "default", lambda: time.sleep(seconds))


def wall_times(pipeline, record, runs: int) -> list[float]:
    pipeline.run(record)  # start the pool's threads
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        pipeline.run(record)
        times.append(time.perf_counter() - started)
    return times


def synthetic_case(rules: dict, runs: int, seconds: float) -> list[float]:
    config = {"stages": {"svc": {"parallel_execution": True, "max_parallel_rules": 4, "rules": rules}}}
    with rules_engine.compile_pipeline(
        config, sleepy_registry(seconds), rules={"SleepyServiceRule": SleepyServiceRule}
    ) as p:
        return wall_times(p, {}, runs)


def critical_path_ms(pipeline, result: dict) -> float:
    """The least time the record could take given its rules' durations."""
    total = 0.0
    for stage, stage_result in zip(pipeline.stages, result["stages"], strict=True):
        durations = {rule["id"]: rule["duration_ms"] for rule in stage_result["rules"]}
        if not stage.parallel:
            total += sum(durations.values())
            continue
        finish: dict[str, float] = {}
        for entry in stage.plan:  # dependency order
            rule = entry[-1]
            own = [pipeline.rule_ids[d] for d in rule.deps if pipeline.rules[d].stage_index == stage.index]
            finish[rule.rule_id] = max((finish[d] for d in own), default=0.0) + durations[rule.rule_id]
        total += max(finish.values(), default=0.0)
    return total


def report_critical_paths(config: dict, runs: int, latency_ms: float = 50) -> None:
    print(f"\n2. Parallel stages against the critical path (services take {latency_ms:g} ms)")
    one = latency_ms / 1000
    four = {f"svc_{i}": {"class": "SleepyServiceRule"} for i in range(4)}
    times = synthetic_case(four, runs, one)
    print(
        f"   a. 4 independent rules, max_parallel 4: median {statistics.median(times) * 1000:6.1f} ms "
        f"(critical path {latency_ms:g} ms, ratio {statistics.median(times) / one:.2f}, "
        f"worst {max(times) / one:.2f})"
    )
    chain = {
        "a": {"class": "SleepyServiceRule"},
        "b": {"class": "SleepyServiceRule", "dependencies": ["a"]},
        "c": {"class": "SleepyServiceRule"},
        "d": {"class": "SleepyServiceRule"},
    }
    times = synthetic_case(chain, runs, one)
    print(
        f"   b. chain of 2 beside 2 independent:      median {statistics.median(times) * 1000:6.1f} ms "
        f"(critical path {2 * latency_ms:g} ms, ratio {statistics.median(times) / (2 * one):.2f}, "
        f"worst {max(times) / (2 * one):.2f})"
    )

    from rules_engine.services import simulated_registry

    with rules_engine.compile_pipeline(config, simulated_registry(latency_ms=latency_ms)) as pipeline:
        pipeline.run(APPLICANTS[0])
        ratios, walls, paths = [], [], []
        for _ in range(max(3, runs // 4)):
            started = time.perf_counter()
            result = pipeline.run(APPLICANTS[0]).to_dict()
            wall = (time.perf_counter() - started) * 1000
            path = critical_path_ms(pipeline, result)
            walls.append(wall)
            paths.append(path)
            ratios.append(wall / path)
        print(
            f"   c. onboarding pipeline, latency_ms={latency_ms:g}:   median {statistics.median(walls):6.1f} ms per record, "
            f"critical path {statistics.median(paths):6.1f} ms, ratio {statistics.median(ratios):.2f} "
            f"(status {result['status']})"
        )


# ------------------------------------------------------------------ the shared benchmark


def shared_bench(script: Path, rules_per_stage: int, parallel: bool) -> dict[str, float]:
    command = [
        sys.executable,
        str(script),
        "--project",
        str(REPO),
        "--engines",
        "limit,project",
        "--rules-per-stage",
        str(rules_per_stage),
    ] + (["--parallel"] if parallel else [])
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600).stdout
    figures = {
        name: float(us) for name, us in re.findall(r"^(\w+)\s+\d+ records/s\s+([\d.]+) us/rule", output, re.M)
    }
    figures["ratio"] = float(re.search(r"project/limit time ratio: ([\d.]+)", output).group(1))
    return figures


def report_shared(script: Path) -> None:
    print(f"\n3. Shared engine benchmark ({script})")
    print("   rules/stage  mode        limit us/rule  project us/rule  project/limit")
    table = {}
    for size in (20, 100, 500):
        for parallel in (False, True):
            figures = table[size, parallel] = shared_bench(script, size, parallel)
            print(
                f"   {size:11d}  {'parallel' if parallel else 'sequential':10s}  {figures['limit']:13.2f}  "
                f"{figures['project']:15.2f}  {figures['ratio']:13.2f}"
            )
    print(f"   project/limit at 100 rules/stage (target <= 3.0): {table[100, False]['ratio']:.2f}")
    print(
        f"   per-rule cost 500 vs 20 rules/stage (target <= 1.3): "
        f"{table[500, False]['project'] / table[20, False]['project']:.2f}"
    )
    for size in (20, 100, 500):
        print(
            f"   parallel vs sequential at {size} rules/stage (target <= 1.5): "
            f"{table[size, True]['project'] / table[size, False]['project']:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seed-dir",
        type=Path,
        default=None,
        help="folder holding the seed configs (default: ../shared/seed, else the package's copy)",
    )
    parser.add_argument(
        "--shared-bench", type=Path, default=REPO.parent / "shared" / "bench" / "engine_bench.py"
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="how long each throughput figure runs")
    parser.add_argument("--runs", type=int, default=20, help="records timed for each critical-path figure")
    parser.add_argument(
        "--latency-ms", type=float, default=50, help="how long each service call takes in section 2"
    )
    parser.add_argument("--skip-shared", action="store_true", help="do not run the shared engine benchmark")
    args = parser.parse_args()

    path = find_onboarding_config(args.seed_dir)
    config = rules_engine.load_config(path)
    print(f"1. Onboarding pipeline ({path}), zero-latency simulated services")
    with rules_engine.compile_pipeline(config) as pipeline:
        rate = throughput(pipeline, APPLICANTS, args.seconds)
    print(f"   {rate:,.0f} records/s ({1000 / rate:.3f} ms per record, {len(APPLICANTS)} applicants in turn)")

    report_critical_paths(config, args.runs, args.latency_ms)
    if args.skip_shared:
        return
    if not args.shared_bench.is_file():
        print(f"\n3. Shared engine benchmark: {args.shared_bench} not found, skipped")
        return
    report_shared(args.shared_bench)


if __name__ == "__main__":
    main()
