"""Every key the config schema accepts changes something a user can see: the walk below
lists each key of rules_engine's document schema, and each has a behaviour here that
differs with its value (in the run result, the stored run, the audit trail or a page).
A key added to the schema without one fails this test; a key that does nothing belongs
out of the schema, where validation refuses it."""

from __future__ import annotations

import copy
import time
import uuid

import pytest
from django.urls import reverse

import rules_engine
from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.engine import document_schema
from pipelines_admin.releases import services as release_services
from pipelines_admin.runs import services as run_services
from pipelines_admin.runs.models import Alert
from tests.rules_engine.testing_rules import rules_for_tests, services_for_tests

RULES = rules_for_tests()
SERVICES = services_for_tests()


# ------------------------------------------------------------------ the schema's keys


def schema_keys(schema: dict) -> set[str]:
    """Every key the document schema accepts, as a path ("*" for a stage or rule id)."""
    defs = schema.get("$defs", {})

    def resolve(node: dict) -> dict:
        while isinstance(node, dict) and "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        return node

    found: set[str] = set()

    def walk(node: dict, path: str) -> None:
        node = resolve(node)
        if not isinstance(node, dict):
            return
        for key, child in node.get("properties", {}).items():
            found.add(f"{path}/{key}")
            walk(child, f"{path}/{key}")
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and path.rsplit("/", 1)[-1] in ("stages", "rules"):
            walk(extra, f"{path}/*")

    walk(schema, "")
    return found


# ------------------------------------------------------------------ running configs


def run(config: dict, record: dict | None = None, **kwargs) -> dict:
    with rules_engine.compile_pipeline(config, SERVICES, rules=RULES) as pipeline:
        return pipeline.run(record or {}, **kwargs).to_dict()


def rule_of(result: dict, rule_id: str) -> dict:
    return next(r for s in result["stages"] for r in s["rules"] if r["id"] == rule_id)


def one_rule(rule: dict, **stage) -> dict:
    return {"stages": {"s": {**stage, "rules": {"r": rule}}}}


def with_setting(config: dict, path: list, value) -> dict:
    config = copy.deepcopy(config)
    node = config
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return config


def barrier_pair(**stage) -> dict:
    """Two blocking rules that pass only when they run at the same time."""
    group = uuid.uuid4().hex
    barrier = {"class": "BarrierRule", "params": {"group": group, "parties": 2, "wait": 0.5}}
    return {"stages": {"s": {**stage, "rules": {"a": barrier, "b": copy.deepcopy(barrier)}}}}


def flaky(failures: int, failure: str = "error", **rule) -> dict:
    return one_rule({"class": "FlakyRule", "params": {"failures": failures, "failure": failure}, **rule})


def attempts_context() -> dict:
    return {"attempts": {}}


# ------------------------------------------------------------------ engine behaviours


def version_label():
    assert run({"version": "2.1.0", **one_rule({"class": "OutcomeRule"})})["config"] == {"version": "2.1.0"}
    assert "config" not in run(one_rule({"class": "OutcomeRule"}))


def name_label():
    assert run({"name": "Onboarding", **one_rule({"class": "OutcomeRule"})})["config"] == {
        "name": "Onboarding"
    }


def stages_run():
    assert run(one_rule({"class": "OutcomeRule"}))["stages"][0]["name"] == "s"


def stop_on_stage_failure():
    config = {
        "stages": {
            "a": {"rules": {"x": {"class": "OutcomeRule", "params": {"outcome": "fail"}}}},
            "b": {"rules": {"y": {"class": "OutcomeRule"}}},
        }
    }
    on = run(with_setting(config, ["execution_settings", "stop_on_stage_failure"], True))
    off = run(with_setting(config, ["execution_settings", "stop_on_stage_failure"], False))
    assert (on["stages"][1]["status"], off["stages"][1]["status"]) == ("not_run", "passed")


def max_parallel_rules_setting():
    two = run(
        with_setting(barrier_pair(parallel_execution=True), ["execution_settings", "max_parallel_rules"], 2)
    )
    one = run(
        with_setting(barrier_pair(parallel_execution=True), ["execution_settings", "max_parallel_rules"], 1)
    )
    assert (two["status"], one["status"]) == ("passed", "error")


def default_timeout():
    config = one_rule({"class": "OutcomeRule", "params": {"sleep": 0.05}})
    assert run(with_setting(config, ["execution_settings", "default_timeout"], 0.01))["status"] == "error"
    assert run(with_setting(config, ["execution_settings", "default_timeout"], 5))["status"] == "passed"


def retry_failed_rules():
    on = run(
        with_setting(flaky(1), ["execution_settings", "retry_failed_rules"], True), context=attempts_context()
    )
    off = run(
        with_setting(flaky(1), ["execution_settings", "retry_failed_rules"], False),
        context=attempts_context(),
    )
    assert (on["status"], rule_of(on, "r")["attempts"], off["status"]) == ("passed", 2, "error")


MONITORING = ["execution_settings", "performance_monitoring"]


def monitoring_enabled():
    config = with_setting(
        one_rule({"class": "OutcomeRule", "params": {"sleep": 0.01}}),
        MONITORING,
        {"slow_rule_threshold_ms": 1},
    )
    assert [s["rule"] for s in run(config)["slow_rules"]] == ["r"]
    assert run(with_setting(config, MONITORING + ["enabled"], False))["slow_rules"] == []


def slow_rule_threshold():
    config = one_rule({"class": "OutcomeRule", "params": {"sleep": 0.01}})
    flagged = run(with_setting(config, MONITORING, {"slow_rule_threshold_ms": 1}))
    calm = run(with_setting(config, MONITORING, {"slow_rule_threshold_ms": 60_000}))
    assert rule_of(flagged, "r")["slow"] is True and "slow" not in rule_of(calm, "r")
    assert flagged["slow_rules"][0]["threshold_ms"] == 1 and calm["slow_rules"] == []


def alert_on_timeout():
    config = one_rule({"class": "OutcomeRule", "params": {"sleep": 0.05}, "timeout_seconds": 0.01})
    on = run(with_setting(config, MONITORING, {"alert_on_timeout": True}))
    off = run(with_setting(config, MONITORING, {"alert_on_timeout": False}))
    assert [(a["kind"], a["rule"]) for a in on["alerts"]] == [("timeout", "r")] and off["alerts"] == []


def stage_enabled():
    assert run(one_rule({"class": "OutcomeRule"}, enabled=False))["stages"][0]["status"] == "skipped"
    assert run(one_rule({"class": "OutcomeRule"}, enabled=True))["stages"][0]["status"] == "passed"


def stage_fail_fast():
    config = {
        "stages": {
            "s": {
                "rules": {
                    "x": {"class": "OutcomeRule", "params": {"outcome": "fail"}},
                    "y": {"class": "OutcomeRule"},
                }
            }
        }
    }
    fast = run(with_setting(config, ["stages", "s", "fail_fast"], True))
    slow = run(with_setting(config, ["stages", "s", "fail_fast"], False))
    assert (rule_of(fast, "y")["outcome"], rule_of(slow, "y")["outcome"]) == ("skip", "pass")


def stage_parallel_execution():
    assert run(barrier_pair(parallel_execution=True, max_parallel_rules=2))["status"] == "passed"
    assert run(barrier_pair(parallel_execution=False, max_parallel_rules=2))["status"] == "error"


def stage_timeout():
    config = one_rule({"class": "OutcomeRule", "params": {"sleep": 0.05, "blocking": True}})
    timed_out = run(with_setting(config, ["stages", "s", "timeout_seconds"], 0.01))
    assert timed_out["stages"][0]["reason"] == "timed out after 0.01 s"
    assert run(with_setting(config, ["stages", "s", "timeout_seconds"], 5))["status"] == "passed"


def stage_max_parallel_rules():
    assert run(barrier_pair(parallel_execution=True, max_parallel_rules=2))["status"] == "passed"
    assert run(barrier_pair(parallel_execution=True, max_parallel_rules=1))["status"] == "error"


def stage_when():
    config = one_rule({"class": "OutcomeRule"}, when="record.amount > 10")
    assert run(config, {"amount": 1})["stages"][0]["status"] == "skipped"
    assert run(config, {"amount": 100})["stages"][0]["status"] == "passed"


def stage_rules():
    assert [r["id"] for r in run(one_rule({"class": "OutcomeRule"}))["stages"][0]["rules"]] == ["r"]


def rule_class():
    assert rule_of(run(one_rule({"class": "OutcomeRule"})), "r")["outcome"] == "pass"
    assert rule_of(run(one_rule({"class": "RaiseRule"})), "r")["outcome"] == "error"


def rule_enabled():
    assert rule_of(run(one_rule({"class": "OutcomeRule", "enabled": False})), "r")["outcome"] == "skip"


def rule_params():
    assert run(one_rule({"class": "OutcomeRule", "params": {"outcome": "fail"}}))["status"] == "failed"
    assert run(one_rule({"class": "OutcomeRule", "params": {"outcome": "pass"}}))["status"] == "passed"


def rule_dependencies():
    config = {
        "stages": {
            "s": {
                "rules": {
                    "x": {"class": "OutcomeRule", "params": {"outcome": "fail"}},
                    "y": {"class": "OutcomeRule"},
                }
            }
        }
    }
    assert (
        rule_of(run(with_setting(config, ["stages", "s", "rules", "y", "dependencies"], ["x"])), "y")[
            "outcome"
        ]
        == "skip"
    )
    assert rule_of(run(config), "y")["outcome"] == "pass"


def rule_cross_stage_dependencies():
    config = {
        "stages": {
            "a": {"rules": {"x": {"class": "OutcomeRule", "params": {"outcome": "fail"}}}},
            "b": {"rules": {"y": {"class": "OutcomeRule"}}},
        }
    }
    needs = with_setting(config, ["stages", "b", "rules", "y", "cross_stage_dependencies"], ["x"])
    assert (rule_of(run(needs), "y")["outcome"], rule_of(run(config), "y")["outcome"]) == ("skip", "pass")


def rule_severity():
    failing = {"class": "OutcomeRule", "params": {"outcome": "fail"}}
    assert run(one_rule({**failing, "severity": "warning"}))["status"] == "passed"
    assert run(one_rule({**failing, "severity": "error"}))["status"] == "failed"


def rule_timeout():
    sleepy = {"class": "OutcomeRule", "params": {"sleep": 0.05}}
    assert rule_of(run(one_rule({**sleepy, "timeout_seconds": 0.01})), "r")["outcome"] == "timeout"
    assert rule_of(run(one_rule({**sleepy, "timeout_seconds": 5})), "r")["outcome"] == "pass"


def rule_when():
    config = one_rule({"class": "OutcomeRule", "when": "record.country == 'US'"})
    assert rule_of(run(config, {"country": "FR"}), "r")["outcome"] == "skip"
    assert rule_of(run(config, {"country": "US"}), "r")["outcome"] == "pass"


def retry_max_attempts():
    three = run(flaky(2, retry={"max_attempts": 3, "backoff_seconds": 0}), context=attempts_context())
    two = run(flaky(2, retry={"max_attempts": 2, "backoff_seconds": 0}), context=attempts_context())
    assert (three["status"], two["status"], rule_of(two, "r")["attempts"]) == ("passed", "error", 2)


def rule_on_fail():
    failing = {"class": "OutcomeRule", "params": {"outcome": "fail"}}
    assert run(one_rule({**failing, "on_fail": "review"}))["status"] == "review"
    assert run(one_rule({**failing, "on_fail": "fail"}))["status"] == "failed"


def rule_on_error():
    erring = {"class": "OutcomeRule", "params": {"outcome": "error"}}
    assert run(one_rule({**erring, "on_error": "review"}))["status"] == "review"
    assert run(one_rule({**erring, "on_error": "error"}))["status"] == "error"


def rule_on_flag():
    flagged = {"class": "OutcomeRule", "params": {"details": {"manual_review": True}}}
    assert run(one_rule({**flagged, "on_flag": "review"}))["status"] == "review"
    assert run(one_rule({**flagged, "on_flag": "pass"}))["status"] == "passed"


def rule_review_approvals():
    failing = {"class": "OutcomeRule", "params": {"outcome": "fail"}, "on_fail": "review"}
    two = run(one_rule({**failing, "review": {"approvals": 2}}))["decision"]["review"]
    assert (two["approvals"], run(one_rule(failing))["decision"]["review"]["approvals"]) == (2, 1)


def _decision_of(rule: dict | None = None, **stage) -> dict:
    failing = {"class": "OutcomeRule", "params": {"outcome": "fail"}, **(rule or {})}
    return run(one_rule(failing, **stage), {"state": "NY"})["decision"]


def rule_reason_code():
    assert _decision_of({"reason_code": "low_score"})["reasons"][0]["reason_code"] == "low_score"
    assert _decision_of()["reasons"][0]["reason_code"] == "r"


def rule_customer_message():
    reason = _decision_of({"customer_message": "Not offered in {state}."})["reasons"][0]
    assert (reason["customer_message"], _decision_of()["reasons"][0]["customer_message"]) == (
        "Not offered in NY.",
        None,
    )


def rule_next_step():
    assert _decision_of({"next_step": "Offer a secured card"})["next_steps"] == ["Offer a secured card"]
    assert _decision_of()["next_steps"] == []


def stage_reason_code():
    assert _decision_of(reason_code="approval_criteria")["reasons"][0]["reason_code"] == "approval_criteria"
    assert _decision_of({"reason_code": "own"}, reason_code="stage")["reasons"][0]["reason_code"] == "own"


def stage_customer_message():
    assert _decision_of(customer_message="Sorry.")["reasons"][0]["customer_message"] == "Sorry."


def stage_next_step():
    assert _decision_of(next_step="Ask for more")["next_steps"] == ["Ask for more"]


def timed(config: dict) -> float:
    started = time.perf_counter()
    run(config, context=attempts_context())
    return time.perf_counter() - started


def retry_backoff_seconds():
    assert timed(flaky(1, retry={"max_attempts": 2, "backoff_seconds": 0.2})) >= 0.2
    assert timed(flaky(1, retry={"max_attempts": 2, "backoff_seconds": 0})) < 0.2


def retry_backoff_multiplier():
    # waits 0.05 then 0.05 * multiplier before the third attempt
    steep = timed(flaky(2, retry={"max_attempts": 3, "backoff_seconds": 0.05, "backoff_multiplier": 10}))
    flat = timed(flaky(2, retry={"max_attempts": 3, "backoff_seconds": 0.05, "backoff_multiplier": 1}))
    assert steep >= 0.55 and steep - flat >= 0.3


def retry_retry_on():
    on_fail = run(
        flaky(1, "fail", retry={"max_attempts": 2, "backoff_seconds": 0, "retry_on": ["fail"]}),
        context=attempts_context(),
    )
    not_on_fail = run(
        flaky(1, "fail", retry={"max_attempts": 2, "backoff_seconds": 0, "retry_on": ["error"]}),
        context=attempts_context(),
    )
    assert (on_fail["status"], not_on_fail["status"]) == ("passed", "failed")


# ------------------------------------------------------------------ console and storage behaviours

APPLICANT = {
    "name": "Maria Garcia",
    "email": "maria.garcia@example.com",
    "date_of_birth": "1990-04-12",
    "occupation": "Air traffic controller",
}


def _release(released, editor, environments, change) -> None:
    """A new version of the `released` pipeline changed by `change(document)`, live in development."""
    latest = released.versions.order_by("-number").first()
    document = copy.deepcopy(latest.document)
    change(document)
    version = config_services.config_version_create(
        pipeline=released, document=document, base_version=latest, author=editor, message="setting under test"
    )
    release_services.release_create(
        pipeline=released, environment=environments["development"], version=version, actor=editor
    )


def _run(released, editor, environments, record=APPLICANT):
    run = run_services.run_submit(
        pipeline=released, environment=environments["development"], record=record, actor=editor
    )
    return run_services.run_execute(run.pk)


def description_shown(client, editor, released, environments, **_):
    _release(released, editor, environments, lambda d: d.update(description="Retail onboarding, EU branch"))
    client.force_login(editor)
    latest = released.versions.order_by("-number").first()
    page = client.get(
        reverse("console:version-detail", kwargs={"slug": released.slug, "number": latest.number})
    )
    assert "Retail onboarding, EU branch" in page.content.decode()


def pii_fields(client, editor, released, environments, **_):
    plain = _run(released, editor, environments)
    assert plain.input_masked["occupation"] == APPLICANT["occupation"]
    _release(released, editor, environments, lambda d: d.update(pii_fields=["occupation"]))
    masked = _run(released, editor, environments)
    assert masked.input_masked["occupation"] != APPLICANT["occupation"]
    assert masked.result["data"]["occupation"] != APPLICANT["occupation"]


def enable_audit_logging(client, editor, released, environments, **_):
    _run(released, editor, environments)
    before = AuditEvent.objects.filter(action="run.completed").count()
    _release(
        released,
        editor,
        environments,
        lambda d: d.setdefault("execution_settings", {}).update(enable_audit_logging=False),
    )
    versions = AuditEvent.objects.filter(action="config_version.created").count()
    _run(released, editor, environments)
    assert before == 1 and AuditEvent.objects.filter(action="run.completed").count() == 1
    assert versions == 2  # the change itself was audited


def alert_recorded(client, editor, released, environments, **_):
    def slow_age_check(document):
        document.setdefault("execution_settings", {})["performance_monitoring"] = {"alert_on_timeout": True}
        document["stages"]["business_rules"]["timeout_seconds"] = 0.000001

    _run(released, editor, environments)
    assert not Alert.objects.exists()
    _release(released, editor, environments, slow_age_check)
    run = _run(released, editor, environments)
    assert [(a.kind, a.rule) for a in Alert.objects.all()] == [("timeout", "age_verification")]
    client.force_login(editor)
    assert "1 alert" in client.get(reverse("console:run-detail", kwargs={"run_id": run.pk})).content.decode()
    assert "age_verification" in client.get(reverse("console:dashboards")).content.decode()


def stage_description(client, editor, released, environments, **_):
    _release(
        released,
        editor,
        environments,
        lambda d: d["stages"]["data_quality"].update(description="Is the application complete?"),
    )
    client.force_login(editor)
    page = client.get(reverse("console:stage-edit", kwargs={"slug": released.slug, "stage": "data_quality"}))
    assert "Is the application complete?" in page.content.decode()


def rule_description(client, editor, released, environments, **_):
    _release(
        released,
        editor,
        environments,
        lambda d: d["stages"]["data_quality"]["rules"]["email_format"].update(description="Mail must parse"),
    )
    client.force_login(editor)
    page = client.get(
        reverse(
            "console:rule-edit",
            kwargs={"slug": released.slug, "stage": "data_quality", "rule": "email_format"},
        )
    )
    assert "Mail must parse" in page.content.decode()


#: objects whose keys are all listed: they take effect through them
CONTAINERS = {
    "/execution_settings",
    "/execution_settings/performance_monitoring",
    "/stages/*/rules/*/retry",
    "/stages/*/rules/*/review",
}

ENGINE = {
    "/version": version_label,
    "/name": name_label,
    "/stages": stages_run,
    "/execution_settings/stop_on_stage_failure": stop_on_stage_failure,
    "/execution_settings/max_parallel_rules": max_parallel_rules_setting,
    "/execution_settings/default_timeout": default_timeout,
    "/execution_settings/retry_failed_rules": retry_failed_rules,
    "/execution_settings/performance_monitoring/enabled": monitoring_enabled,
    "/execution_settings/performance_monitoring/slow_rule_threshold_ms": slow_rule_threshold,
    "/execution_settings/performance_monitoring/alert_on_timeout": alert_on_timeout,
    "/stages/*/enabled": stage_enabled,
    "/stages/*/fail_fast": stage_fail_fast,
    "/stages/*/parallel_execution": stage_parallel_execution,
    "/stages/*/timeout_seconds": stage_timeout,
    "/stages/*/max_parallel_rules": stage_max_parallel_rules,
    "/stages/*/when": stage_when,
    "/stages/*/rules": stage_rules,
    "/stages/*/rules/*/class": rule_class,
    "/stages/*/rules/*/enabled": rule_enabled,
    "/stages/*/rules/*/params": rule_params,
    "/stages/*/rules/*/dependencies": rule_dependencies,
    "/stages/*/rules/*/cross_stage_dependencies": rule_cross_stage_dependencies,
    "/stages/*/rules/*/severity": rule_severity,
    "/stages/*/rules/*/timeout_seconds": rule_timeout,
    "/stages/*/rules/*/when": rule_when,
    "/stages/*/rules/*/retry/max_attempts": retry_max_attempts,
    "/stages/*/rules/*/retry/backoff_seconds": retry_backoff_seconds,
    "/stages/*/rules/*/retry/backoff_multiplier": retry_backoff_multiplier,
    "/stages/*/rules/*/retry/retry_on": retry_retry_on,
    "/stages/*/rules/*/on_fail": rule_on_fail,
    "/stages/*/rules/*/on_error": rule_on_error,
    "/stages/*/rules/*/on_flag": rule_on_flag,
    "/stages/*/rules/*/review/approvals": rule_review_approvals,
    "/stages/*/rules/*/reason_code": rule_reason_code,
    "/stages/*/rules/*/customer_message": rule_customer_message,
    "/stages/*/rules/*/next_step": rule_next_step,
    "/stages/*/reason_code": stage_reason_code,
    "/stages/*/customer_message": stage_customer_message,
    "/stages/*/next_step": stage_next_step,
}
CONSOLE = {
    "/description": description_shown,
    "/pii_fields": pii_fields,
    "/execution_settings/enable_audit_logging": enable_audit_logging,
    "/stages/*/description": stage_description,
    "/stages/*/rules/*/description": rule_description,
}
KEYS = sorted(schema_keys(document_schema()))


def test_schema__every_key__has_a_behaviour_here():
    # Given every key the document schema accepts / Then each is shown to take effect below
    missing = [key for key in KEYS if key not in ENGINE and key not in CONSOLE and key not in CONTAINERS]
    assert missing == [], f"keys the schema accepts with no behaviour shown here: {missing}"
    assert set(ENGINE) | set(CONSOLE) | CONTAINERS == set(KEYS), (
        "behaviours for keys the schema no longer has"
    )
    for container in CONTAINERS:
        assert any(key.startswith(container + "/") for key in ENGINE), container


@pytest.mark.parametrize("key", sorted(ENGINE))
def test_setting__changed__engine_result_changes(key):
    # Given a config with the setting at one value and at another / When both run
    # Then what the result shows differs as the setting says
    ENGINE[key]()


@pytest.mark.django_db
@pytest.mark.parametrize("key", sorted(CONSOLE))
def test_setting__changed__what_is_stored_or_shown_changes(key, client, editor, released, environments):
    CONSOLE[key](client=client, editor=editor, released=released, environments=environments)


def test_validate__a_key_that_does_nothing__refused():
    # Given keys the schema does not accept: an editor hint, and a setting the seed article's
    # production override names but nothing implements
    for config in (
        {"$schema": "https://example.com/x.json", "stages": {"s": {"rules": {}}}},
        {
            "stages": {"s": {"rules": {}}},
            "execution_settings": {"performance_monitoring": {"detailed_metrics": True}},
        },
    ):
        # When validated / Then refused with its path
        problems = rules_engine.validate_config(config, rules=RULES, services=SERVICES)
        assert problems and all(
            "not" in p.message.lower() or "unknown" in p.message.lower() for p in problems
        ), problems
