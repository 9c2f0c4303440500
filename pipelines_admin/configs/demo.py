"""Demo pipelines: the two example configs shipped with rules_engine, released to
every environment, so a new console has something real to look at."""
from __future__ import annotations

import json
from importlib import resources

from django.db import transaction

from pipelines_admin.configs import services
from pipelines_admin.configs.models import Environment, Pipeline

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
    created = []
    for slug, name, filename, description in DEMO_PIPELINES:
        if Pipeline.objects.filter(slug=slug).exists():
            continue
        pipeline = services.pipeline_create(slug=slug, name=name, description=description,
                                            document=example_document(filename), author=actor,
                                            message="Imported from the example config")
        version = pipeline.versions.get()
        for environment in Environment.objects.all():
            services.release_create(pipeline=pipeline, environment=environment, version=version, actor=actor,
                                    reason="Initial release of the demo pipeline")
        created.append(pipeline)
    return created
