"""Demo pipelines: the two example configs shipped with rules_engine, each with the
sample applications as test cases, released to every environment (protected ones
after the test suite has passed), so a new console has something real to look at."""
from __future__ import annotations

import json
from importlib import resources

from django.db import transaction

from pipelines_admin.configs import services
from pipelines_admin.configs.defaults import ensure_default_environments
from pipelines_admin.configs.engine import compiled_pipeline
from pipelines_admin.configs.models import Environment, Pipeline
from pipelines_admin.configs.samples import sample_applications
from pipelines_admin.runs.services import execute_record
from pipelines_admin.testcases.expectations import expectation_from_result
from pipelines_admin.testcases.services import case_create, suite_run_now

DEMO_PIPELINES = (
    ("customer-onboarding", "Customer onboarding", "customer_onboarding.json",
     "Retail bank onboarding: preprocessing, data quality, KYC/sanctions/PEP/AML, business rules, post-processing."),
    ("basic-onboarding", "Basic onboarding", "pipeline_config.json",
     "A smaller onboarding pipeline: trimming, data quality, compliance and credit rules."),
)


def example_document(filename: str) -> dict:
    return json.loads(resources.files("rules_engine.examples").joinpath(filename).read_text(encoding="utf-8"))


@transaction.atomic
def demo_pipelines_ensure(*, actor) -> list[Pipeline]:
    """Create the demo pipelines that do not exist yet and release their first version
    everywhere; existing pipelines are left exactly as they are."""
    ensure_default_environments(Environment)  # a migrated database has them; a flushed one may not
    created = []
    for slug, name, filename, description in DEMO_PIPELINES:
        if Pipeline.objects.filter(slug=slug).exists():
            continue
        pipeline = services.pipeline_create(slug=slug, name=name, description=description,
                                            document=example_document(filename), author=actor,
                                            message="Imported from the example config")
        version = pipeline.versions.get()
        environments = list(Environment.objects.all())
        for environment in environments:
            if not environment.protected:
                services.release_create(pipeline=pipeline, environment=environment, version=version, actor=actor,
                                        reason="Initial release of the demo pipeline")
        _sample_test_cases(pipeline, actor)
        for environment in environments:
            if environment.protected:
                suite_run_now(pipeline=pipeline, environment=environment, actor=actor, version=version)
                services.release_create(pipeline=pipeline, environment=environment, version=version, actor=actor,
                                        reason="Initial release of the demo pipeline")
        created.append(pipeline)
    return created


def _sample_test_cases(pipeline: Pipeline, actor) -> None:
    """The sample applications as test cases, each expecting what the first version decides."""
    engine = compiled_pipeline(pipeline.versions.get().document, None)
    for sample in sample_applications():
        status, result, _, _ = execute_record(engine, sample["record"], stages=None, context={})
        case_create(pipeline=pipeline, name=sample["name"], description=sample["description"],
                    record=sample["record"], expected=expectation_from_result(status, result), actor=actor)
