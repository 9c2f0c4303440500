"""The executor: what golden files cannot show (threads, timing, isolation between runs)."""

from __future__ import annotations

import copy
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import rules_engine
from rules_engine.rule import PASS, Rule, passed
from tests.rules_engine.testing_rules import rules_for_tests, services_for_tests


def compile_test_pipeline(config: dict) -> rules_engine.Pipeline:
    return rules_engine.compile_pipeline(config, services_for_tests(), rules=rules_for_tests())


def sleepers(count: int, seconds: float, **extra) -> dict:
    return {
        f"svc_{i}": {"class": "OutcomeRule", "params": {"sleep": seconds, "blocking": True}, **extra}
        for i in range(count)
    }


class ThreadRecordingRule(Rule):
    """Passes, reporting the thread it ran on."""

    params_schema = {"type": "object", "properties": {"blocking": {"type": "boolean"}}}

    @property
    def blocking(self) -> bool:
        return bool(self.params.get("blocking"))

    def evaluate(self, data, ctx):
        return passed("ran", {"thread": threading.get_ident()})


class StatefulLookingRule(Rule):
    """Passes only when the record's id is 1; used to show results do not leak across runs."""

    params_schema = {"type": "object"}

    def evaluate(self, data, ctx):
        return passed("ok") if data.get("id") == 1 else rules_engine.rule.failed("not 1")


def test_run__parallel_independent_blocking_rules__take_about_one_rule_time():
    # Given four independent 100 ms blocking rules in a parallel stage with room for four
    pipeline = compile_test_pipeline(
        {"stages": {"s": {"parallel_execution": True, "max_parallel_rules": 4, "rules": sleepers(4, 0.1)}}}
    )
    with pipeline:
        pipeline.run({})  # warm the pool's threads
        # When a record runs
        started = time.perf_counter()
        result = pipeline.run({})
        elapsed = time.perf_counter() - started
    # Then it takes about the critical path (100 ms), far from the sum (400 ms);
    # bench/engine.py measures the exact ratio
    assert result.status == "passed"
    assert 0.1 <= elapsed < 0.25, elapsed


def test_run__parallel_chain_of_two__takes_about_two_rule_times():
    # Given a chain a -> b of 100 ms blocking rules beside two independent ones
    rules = sleepers(2, 0.1)
    rules["a"] = {"class": "OutcomeRule", "params": {"sleep": 0.1, "blocking": True}}
    rules["b"] = {"class": "OutcomeRule", "params": {"sleep": 0.1, "blocking": True}, "dependencies": ["a"]}
    pipeline = compile_test_pipeline(
        {"stages": {"s": {"parallel_execution": True, "max_parallel_rules": 4, "rules": rules}}}
    )
    with pipeline:
        pipeline.run({})
        # When a record runs
        started = time.perf_counter()
        pipeline.run({})
        elapsed = time.perf_counter() - started
    # Then the wall time is the chain (200 ms), not the sum (400 ms)
    assert 0.2 <= elapsed < 0.35, elapsed


def test_run__more_blocking_rules_than_max_parallel__runs_in_waves():
    # Given four 100 ms blocking rules but room for two at a time
    pipeline = compile_test_pipeline(
        {"stages": {"s": {"parallel_execution": True, "max_parallel_rules": 2, "rules": sleepers(4, 0.1)}}}
    )
    with pipeline:
        # When a record runs
        started = time.perf_counter()
        pipeline.run({})
        elapsed = time.perf_counter() - started
    # Then it takes two waves (200 ms): never more than two at once, never one at a time
    assert 0.2 <= elapsed < 0.35, elapsed


def test_run__sequential_blocking_rules__run_one_after_another():
    # Given two 30 ms blocking rules in a sequential stage
    pipeline = compile_test_pipeline({"stages": {"s": {"rules": sleepers(2, 0.03)}}})
    with pipeline:
        started = time.perf_counter()
        pipeline.run({})
        elapsed = time.perf_counter() - started
    # Then they add up
    assert elapsed >= 0.06


def test_run__computing_rules__run_inline_and_blocking_rules_on_the_pool():
    # Given a parallel stage with a computing rule and a blocking one
    config = {
        "stages": {
            "s": {
                "parallel_execution": True,
                "rules": {
                    "inline": {"class": "ThreadRecordingRule"},
                    "pooled": {"class": "ThreadRecordingRule", "params": {"blocking": True}},
                },
            }
        }
    }
    pipeline = rules_engine.compile_pipeline(
        config, services_for_tests(), rules={"ThreadRecordingRule": ThreadRecordingRule}
    )
    with pipeline:
        # When it runs
        result = pipeline.run({})
    # Then the computing rule ran in the caller's thread, the blocking one elsewhere
    assert result.rule("inline").details["thread"] == threading.get_ident()
    assert result.rule("pooled").details["thread"] != threading.get_ident()


def test_pipeline__many_runs__share_one_pool_created_lazily():
    # Given a pipeline with a blocking rule
    pipeline = compile_test_pipeline({"stages": {"s": {"parallel_execution": True, "rules": sleepers(2, 0)}}})
    # Then no pool exists before the first run
    assert pipeline._pool is None
    # When several records run
    pipeline.run({})
    pool = pipeline._pool
    for _ in range(5):
        pipeline.run({})
    # Then they all used the same pool, until close shuts it
    assert pool is not None and pipeline._pool is pool
    pipeline.close()
    assert pipeline._pool is None
    with pytest.raises(RuntimeError, match="closed"):
        pipeline.run({})


def test_pipeline__closed_while_a_run_is_in_progress__lets_that_run_finish():
    # Given a run in progress on another thread, between two blocking rules
    pipeline = compile_test_pipeline({"stages": {"s": {"rules": sleepers(2, 0.1)}}})
    with ThreadPoolExecutor(max_workers=1) as caller:
        running = caller.submit(pipeline.run, {})
        time.sleep(0.05)
        # When the pipeline is closed meanwhile
        pipeline.close()
        result = running.result()
    # Then that run still completes normally, the pool goes away, and new runs are refused
    assert result.status == "passed"
    assert pipeline._pool is None
    with pytest.raises(RuntimeError, match="closed"):
        pipeline.run({})


def test_pipeline__only_computing_rules__never_creates_a_pool():
    # Given a pipeline of computing rules, parallel or not
    pipeline = compile_test_pipeline(
        {
            "stages": {
                "a": {"parallel_execution": True, "rules": {"x": {"class": "OutcomeRule"}}},
                "b": {"rules": {"y": {"class": "OutcomeRule"}}},
            }
        }
    )
    # When it runs
    pipeline.run({})
    # Then no thread pool was needed
    assert pipeline._pool is None


def test_run__timed_out_rule_finishing_late__leaves_no_trace():
    # Given a blocking rule that writes a field but overruns its timeout
    pipeline = compile_test_pipeline(
        {
            "stages": {
                "s": {
                    "rules": {
                        "late": {
                            "class": "SetFieldRule",
                            "params": {"field": "x", "value": "late", "sleep": 0.15, "blocking": True},
                            "timeout_seconds": 0.03,
                        }
                    }
                }
            }
        }
    )
    with pipeline:
        # When it runs and we wait until the abandoned call has returned
        result = pipeline.run({"x": "original"})
        time.sleep(0.2)
    # Then it is timeout and its write never reached the data
    assert result.outcome("late") == "timeout"
    assert result.data == {"x": "original"}
    assert result.changes == []


def test_run__record__is_never_mutated():
    # Given a record with nested values and rules that transform fields
    record = {"name": "ann", "tags": ["a", {"deep": [1, 2]}], "address": {"city": "paris"}}
    snapshot = copy.deepcopy(record)
    pipeline = compile_test_pipeline(
        {
            "stages": {
                "pre": {
                    "rules": {
                        "upper": {"class": "SetFieldRule", "params": {"field": "name", "upper": True}},
                        "replace": {
                            "class": "SetFieldRule",
                            "params": {"field": "address", "value": {"city": "PARIS"}},
                        },
                    }
                }
            }
        }
    )
    # When it runs
    result = pipeline.run(record)
    result.data["tags"][1]["deep"].append(3)  # even changing the result's data
    # Then the input is exactly as it was
    assert record == snapshot
    assert result.data["name"] == "ANN"


def test_run__results__do_not_leak_between_runs():
    # Given a dependency on a rule that passes for record 1 only
    pipeline = rules_engine.compile_pipeline(
        {
            "stages": {
                "dq": {"rules": {"is_one": {"class": "StatefulLookingRule"}}},
                "next": {
                    "rules": {
                        "needs_one": {"class": "StatefulLookingRule", "cross_stage_dependencies": ["is_one"]}
                    }
                },
            }
        },
        services_for_tests(),
        rules={"StatefulLookingRule": StatefulLookingRule},
    )
    # When record 1 then record 2 run
    first = pipeline.run({"id": 1})
    second = pipeline.run({"id": 2})
    # Then the second run's dependency check saw only its own results
    assert first.outcome("needs_one") == PASS
    assert second.outcome("is_one") == "fail"
    assert second.outcome("needs_one") == "skip"


def test_run__concurrent_callers__get_their_own_results():
    # Given one pipeline shared by several threads, with a blocking rule and a transformation
    pipeline = compile_test_pipeline(
        {
            "stages": {
                "s": {
                    "parallel_execution": True,
                    "rules": {
                        "svc": {"class": "OutcomeRule", "params": {"sleep": 0.01, "blocking": True}},
                        "upper": {"class": "SetFieldRule", "params": {"field": "name", "upper": True}},
                        "check": {"class": "CheckFieldRule", "params": {"field": "id"}},
                    },
                }
            }
        }
    )
    with pipeline, ThreadPoolExecutor(max_workers=8) as callers:
        # When 40 records run at once
        results = list(callers.map(lambda i: pipeline.run({"id": i, "name": f"n{i}"}), range(1, 41)))
    # Then each result holds its own record
    for i, result in enumerate(results, start=1):
        assert result.status == "passed"
        assert result.data == {"id": i, "name": f"N{i}"}


def test_run__default_context__has_a_utc_now_and_keeps_caller_values():
    # Given a rule that reports the run context
    pipeline = compile_test_pipeline({"stages": {"s": {"rules": {"peek": {"class": "PeekResultsRule"}}}}})
    # When it runs without a context, then with one
    plain = pipeline.run({})
    given = pipeline.run({}, context={"now": "2024-01-01T00:00:00+00:00", "run_id": "r1"})
    # Then `now` is a UTC ISO timestamp by default, and the caller's otherwise
    assert plain.rule("peek").details["now"].endswith("+00:00")
    assert given.rule("peek").details["now"] == "2024-01-01T00:00:00+00:00"
    assert given.context["run_id"] == "r1"


def test_run__unknown_stage_name__raises_value_error():
    # Given a run asking for a stage that does not exist
    # When it runs
    # Then ValueError names the stages there are
    pipeline = compile_test_pipeline({"stages": {"s": {"rules": {"a": {"class": "OutcomeRule"}}}}})
    with pytest.raises(ValueError, match="there is no stage 'nope'; the stages are: s"):
        pipeline.run({}, stages=["nope"])


@pytest.mark.parametrize("record", [["a"], "text", None, 3])
def test_run__record_not_a_mapping__raises_type_error(record):
    # Given a record that is not a mapping
    # When it runs
    # Then run raises TypeError
    pipeline = compile_test_pipeline({"stages": {"s": {"rules": {"a": {"class": "OutcomeRule"}}}}})
    with pytest.raises(TypeError, match="a record must be a mapping"):
        pipeline.run(record)


def test_run__retry_backoff__grows_exponentially():
    # Given a rule failing twice with 0.05 s backoff doubling (waits 0.05 then 0.1)
    pipeline = compile_test_pipeline(
        {
            "stages": {
                "s": {
                    "rules": {
                        "flaky": {
                            "class": "FlakyRule",
                            "params": {"failures": 2},
                            "retry": {"max_attempts": 3, "backoff_seconds": 0.05, "backoff_multiplier": 2},
                        }
                    }
                }
            }
        }
    )
    # When it runs
    started = time.perf_counter()
    result = pipeline.run({}, context={"attempts": {}})
    elapsed = time.perf_counter() - started
    # Then three attempts took at least the two backoffs
    assert result.rule("flaky").attempts == 3
    assert 0.15 <= elapsed < 0.4


def test_run__retry_backoff_past_stage_deadline__stops_retrying():
    # Given a long backoff in a stage that has little time
    pipeline = compile_test_pipeline(
        {
            "stages": {
                "s": {
                    "timeout_seconds": 0.2,
                    "rules": {
                        "flaky": {
                            "class": "FlakyRule",
                            "params": {"failures": 5},
                            "retry": {"max_attempts": 5, "backoff_seconds": 1},
                        }
                    },
                }
            }
        }
    )
    # When it runs
    started = time.perf_counter()
    result = pipeline.run({}, context={"attempts": {}})
    # Then it does not wait past the deadline; the last attempt's error stands
    assert time.perf_counter() - started < 0.2
    assert result.rule("flaky").outcome == "error"
    assert result.rule("flaky").attempts == 1


def test_run__parallel_fail_fast__starts_nothing_after_the_failure():
    # Given room for one rule at a time: a failing rule, then two more
    pipeline = compile_test_pipeline(
        {
            "stages": {
                "s": {
                    "parallel_execution": True,
                    "fail_fast": True,
                    "max_parallel_rules": 1,
                    "rules": {
                        "fails": {"class": "OutcomeRule", "params": {"outcome": "fail", "blocking": True}},
                        "second": {"class": "OutcomeRule", "params": {"blocking": True}},
                        "third": {"class": "OutcomeRule", "params": {"blocking": True}},
                    },
                }
            }
        }
    )
    with pipeline:
        # When it runs, tracing which rules started
        trace: list[str] = []
        result = pipeline.run({}, context={"trace": trace})
    # Then only the failing rule ran
    assert trace == ["fails"]
    assert [r.outcome for r in result.rules()] == ["fail", "skip", "skip"]


def test_run__rule_results_view__shows_earlier_results_only():
    # Given a peeking rule after two others, and one after it
    pipeline = compile_test_pipeline(
        {
            "stages": {
                "s": {
                    "rules": {
                        "a": {"class": "OutcomeRule"},
                        "b": {"class": "OutcomeRule", "params": {"outcome": "fail"}},
                        "peek": {"class": "PeekResultsRule"},
                        "after": {"class": "OutcomeRule"},
                    }
                }
            }
        }
    )
    # When it runs
    result = pipeline.run({})
    # Then the peeking rule saw exactly a and b
    assert result.rule("peek").details["seen"] == {"a": "pass", "b": "fail"}


def test_result__rules_and_outcome__give_every_rule():
    # Given a run with a disabled stage
    # When it runs
    # Then rules() lists every rule, skipped ones included
    pipeline = compile_test_pipeline(
        {
            "stages": {
                "s": {"rules": {"a": {"class": "OutcomeRule"}}},
                "t": {"enabled": False, "rules": {"b": {"class": "OutcomeRule"}}},
            }
        }
    )
    result = pipeline.run({})
    assert [(r.id, r.stage, r.outcome) for r in result.rules()] == [("a", "s", "pass"), ("b", "t", "skip")]
    assert result.passed and repr(result).startswith("<RunResult passed")
