"""The demo pipelines: valid in every environment, deciding every sample application."""

import pytest

from pipelines_admin.configs.engine import compiled_pipeline, document_problems
from pipelines_admin.configs.models import Environment, Pipeline
from pipelines_admin.configs.samples import sample_applications
from pipelines_admin.configs.selectors import effective_config
from pipelines_admin.demo.pipelines import DEMO_PIPELINES, demo_pipelines_ensure

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(superuser, environments):
    return demo_pipelines_ensure(actor=superuser)


def test_demo_pipelines__every_environment__effective_config_valid(demo):
    # Given the demo pipelines released everywhere with the seed's overrides
    # When each environment's effective config is validated against its service bindings
    # Then none has a problem (no enabled rule depends on a disabled one)
    for pipeline in Pipeline.objects.all():
        for environment in Environment.objects.all():
            document = effective_config(pipeline, environment).document
            assert document_problems(document, environment) == [], (pipeline.slug, environment.name)
    assert {p.slug for p in demo} == {slug for slug, *_ in DEMO_PIPELINES}


def test_demo_pipelines__development__compliance_on_with_simulated_vendors(demo):
    # Given the onboarding demo in development, where the seed turns compliance off
    development = Environment.objects.get(name="development")
    pipeline = Pipeline.objects.get(slug="customer-onboarding")
    document = effective_config(pipeline, development).document
    # Then compliance stays on, its vendors are bound to the simulated adapters, and the seed's
    # faster business-rule timeout applies
    assert document["stages"]["compliance"].get("enabled", True) is True
    assert {(b.interface, b.kind) for b in development.service_bindings.all()} >= {
        ("KYCService", "simulated"),
        ("SanctionsService", "simulated"),
        ("PEPService", "simulated"),
        ("RiskEngine", "simulated"),
    }
    assert document["stages"]["business_rules"]["timeout_seconds"] == 5


def test_demo_pipelines__every_environment__the_minor_is_never_passed(demo):
    # Given the sample 16-year-old applicant
    minor = next(s for s in sample_applications() if s["name"] == "Minor")
    pipeline = Pipeline.objects.get(slug="customer-onboarding")
    for environment in Environment.objects.all():
        # When the minor runs on what each environment runs
        engine = compiled_pipeline(effective_config(pipeline, environment).document, environment)
        result = engine.run(minor["record"])
        # Then she is never passed, and the age check is what says no
        assert result.status == "failed", (environment.name, result.to_dict()["undecided"])
        assert result.outcome("age_verification") == "fail"


def test_demo_pipelines__second_call__changes_nothing(demo, superuser):
    assert demo_pipelines_ensure(actor=superuser) == []


def test_demo_pipelines__every_environment__every_sample_is_decided(demo):
    # Given the sample applications
    # When each runs on each demo pipeline in each environment
    # Then each gets a decision (passed or failed): no check is left unrun by the demo set-up
    for pipeline in Pipeline.objects.all():
        for environment in Environment.objects.all():
            engine = compiled_pipeline(effective_config(pipeline, environment).document, environment)
            for sample in sample_applications():
                result = engine.run(sample["record"])
                assert result.status in ("passed", "failed"), (
                    pipeline.slug,
                    environment.name,
                    sample["name"],
                    result.undecided(),
                )
