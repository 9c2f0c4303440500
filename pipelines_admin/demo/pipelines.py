"""Demo pipelines: the two example configs shipped with rules_engine, each with the
sample applications as test cases, released to every environment (protected ones
after the test suite has passed), so a new console has something real to look at.

The example configs are the seed article's, as written. Each demo pipeline's first
version adds the decisions the article's code hard-wired (its `*.decisions.json`, a
merge patch): data quality asks for more information, compliance escalates to review,
business rules suggest other products; a PEP match and a near sanctions match go to
reviewers (two approvals), as does an identity or income check whose vendor is down.

Each environment gets the overrides the seed article gives it, with one change: the
seed turns the compliance stage off in development, which would leave the age, credit
and income checks (they need KYC) unable to run, so no application could be decided.
Development keeps compliance on and binds its services to the simulated adapters
instead (no vendor is called, which is what turning it off was for).

Once the demo pipelines are live, production is put under change control: from then on
every change there is a change request that another publisher approves."""

from __future__ import annotations

import json
from importlib import resources

from django.db import transaction

from pipelines_admin.changes.services import change_request_break_glass, change_submit
from pipelines_admin.configs.defaults import ensure_default_environments
from pipelines_admin.configs.engine import compiled_pipeline
from pipelines_admin.configs.models import Environment, Pipeline
from pipelines_admin.configs.overrides import apply_override
from pipelines_admin.configs.samples import samples_described
from pipelines_admin.configs.services import pipeline_create, service_binding_set
from pipelines_admin.releases.services import release_create
from pipelines_admin.runs.services import execute_record
from pipelines_admin.testcases.expectations import expectation_from_result
from pipelines_admin.testcases.services import case_create, suite_run_now

#: per environment: the override (a merge patch) and the services bound to the simulated adapters
DEMO_ENVIRONMENTS: dict[str, dict[str, tuple[dict, tuple[str, ...]]]] = {
    "customer-onboarding": {
        "development": (
            {"stages": {"business_rules": {"timeout_seconds": 5}}},
            ("KYCService:jumio", "SanctionsService:worldcheck", "PEPService:dowjones", "RiskEngine:quantexa"),
        ),
        "staging": (
            {
                "execution_settings": {"stop_on_stage_failure": False},
                "stages": {
                    "compliance": {
                        "timeout_seconds": 15,
                        "rules": {"kyc_identity_verification": {"params": {"verification_level": "basic"}}},
                    }
                },
            },
            (),
        ),
        "production": (
            {
                "execution_settings": {
                    "performance_monitoring": {
                        "enabled": True,
                        "slow_rule_threshold_ms": 3000,
                        "alert_on_timeout": True,
                    }
                }
            },
            (),
        ),
    },
    "basic-onboarding": {
        "development": ({"stages": {"business_rules": {"timeout_seconds": 5}}}, ()),
        "staging": (
            {
                "execution_settings": {"stop_on_stage_failure": False},
                "stages": {"compliance": {"timeout_seconds": 15}},
            },
            (),
        ),
    },
}

DEMO_PIPELINES = (
    (
        "customer-onboarding",
        "Customer onboarding",
        "customer_onboarding",
        "Retail bank onboarding: preprocessing, data quality, KYC/sanctions/PEP/AML, business rules, post-processing.",
    ),
    (
        "basic-onboarding",
        "Basic onboarding",
        "pipeline_config",
        "A smaller onboarding pipeline: trimming, data quality, compliance and credit rules.",
    ),
)


def example_document(filename: str) -> dict:
    return json.loads(resources.files("rules_engine.examples").joinpath(filename).read_text(encoding="utf-8"))


def demo_document(example: str) -> dict:
    """The example config `example` (the seed's) with its decisions merged in."""
    return apply_override(example_document(f"{example}.json"), example_document(f"{example}.decisions.json"))


@transaction.atomic
def demo_pipelines_ensure(*, actor) -> list[Pipeline]:
    """Create the demo pipelines that do not exist yet and release their first version
    everywhere; existing pipelines are left exactly as they are."""
    ensure_default_environments(Environment)  # a migrated database has them; a flushed one may not
    created = []
    for slug, name, example, description in DEMO_PIPELINES:
        if Pipeline.objects.filter(slug=slug).exists():
            continue
        pipeline = pipeline_create(
            slug=slug,
            name=name,
            description=description,
            document=demo_document(example),
            author=actor,
            message="Imported from the example config, with its reasons, next steps and review routing",
        )
        version = pipeline.versions.get()
        environments = list(Environment.objects.all())
        per_environment = DEMO_ENVIRONMENTS.get(slug, {})
        for environment in environments:
            for reference in per_environment.get(environment.name, ({}, ()))[1]:
                interface, name = reference.split(":")
                if not environment.service_bindings.filter(interface=interface, name=name).exists():
                    service_binding_set(
                        environment=environment,
                        interface=interface,
                        name=name,
                        actor=actor,
                        kind="simulated",
                        reason="Demo: simulated instead of the vendor",
                    )
        for environment in environments:
            if not environment.protected:
                release_create(
                    pipeline=pipeline,
                    environment=environment,
                    version=version,
                    actor=actor,
                    reason="Initial release of the demo pipeline",
                    override=per_environment.get(environment.name, ({}, ()))[0],
                )
        _sample_test_cases(pipeline, actor)
        for environment in environments:
            if environment.protected:
                override = per_environment.get(environment.name, ({}, ()))[0]
                suite_run_now(
                    pipeline=pipeline,
                    environment=environment,
                    actor=actor,
                    version=version,
                    override=override,
                )
                _release_protected(pipeline, environment, version, override, actor)
        created.append(pipeline)
    if created:
        _change_control_ensure(actor)
    return created


def _release_protected(pipeline: Pipeline, environment: Environment, version, override: dict, actor) -> None:
    """The first release of a new demo pipeline to a protected environment. Where the
    environment is already under change control, it goes through a change request that
    the demo admin applies by breaking glass, recorded as such."""
    submitted = change_submit(
        kind="release",
        pipeline=pipeline,
        environment=environment,
        actor=actor,
        reason="Initial release of the demo pipeline",
        version=version.number,
        override=override,
    )
    if submitted.requested and submitted.change_request is not None:
        change_request_break_glass(
            change_request=submitted.change_request,
            actor=actor,
            reason="Demo set-up: the first release of a demo pipeline",
        )


def _change_control_ensure(actor) -> None:
    """A fresh demo has production under change control: one approval by another
    publisher (the demo users publisher and publisher2 show it)."""
    production = Environment.objects.filter(name="production").first()
    if production is None or production.change_requests_required:
        return
    change_submit(
        kind="environment",
        environment=production,
        actor=actor,
        reason="Demo: every change to production needs one approval from another publisher",
        change_requests_required=True,
        approvals_required=1,
    )


def _sample_test_cases(pipeline: Pipeline, actor) -> None:
    """The sample applications as test cases, each expecting what the first version
    decides, described against it."""
    document = pipeline.versions.get().document
    engine = compiled_pipeline(document, None)
    for sample in samples_described(document):
        status, result, _, _ = execute_record(engine, sample["record"], stages=None, context={})
        case_create(
            pipeline=pipeline,
            name=sample["name"],
            description=sample["description"],
            record=sample["record"],
            expected=expectation_from_result(status, result),
            actor=actor,
        )
