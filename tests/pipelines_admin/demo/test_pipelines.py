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
    # Then each gets a decision (passed, failed, or review): no check is left unrun by the demo set-up
    for pipeline in Pipeline.objects.all():
        for environment in Environment.objects.all():
            engine = compiled_pipeline(effective_config(pipeline, environment).document, environment)
            for sample in sample_applications():
                result = engine.run(sample["record"])
                assert result.status in ("passed", "failed", "review"), (
                    pipeline.slug,
                    environment.name,
                    sample["name"],
                    result.undecided(),
                )


def test_demo_pipelines__pep_hit__goes_to_two_reviewers_everywhere_with_reasons_and_next_steps(demo):
    # Given the sample applicant who matches the PEP list, and the demo's decisions
    pep_hit = next(s for s in sample_applications() if s["name"] == "PEP hit")
    minor = next(s for s in sample_applications() if s["name"] == "Minor")
    missing_email = next(s for s in sample_applications() if s["name"] == "Missing email")
    pipeline = Pipeline.objects.get(slug="customer-onboarding")
    for environment in Environment.objects.all():
        engine = compiled_pipeline(effective_config(pipeline, environment).document, environment)
        # When each runs on what the environment runs
        decision = engine.run(pep_hit["record"]).to_dict()["decision"]
        # Then the PEP hit goes to review, needing two approvals, and compliance escalates it
        assert decision["status"] == "review", (environment.name, decision)
        assert decision["review"] == {"rules": ["pep_screening"], "approvals": 2}
        assert decision["next_steps"] == ["Escalate to compliance team for enhanced due diligence"]
        # and a data-quality failure asks for more information; a business-rule failure
        # suggests other products, telling the applicant why without personal data
        incomplete = engine.run(missing_email["record"]).to_dict()["decision"]
        assert incomplete["next_steps"] == ["Request additional information from customer"]
        assert (
            incomplete["reasons"][0]["customer_message"]
            == "Please verify and complete all required information."
        )
        under_age = engine.run(minor["record"]).to_dict()["decision"]
        assert under_age["reasons"][0]["reason_code"] == "under_minimum_age"
        assert under_age["next_steps"] == ["Consider alternative product offerings"]


def test_demo__production__needs_one_approval_from_another_publisher(demo, superuser):
    # Given the demo data / Then production is under change control with one approval
    from pipelines_admin.changes.services import change_submit
    from pipelines_admin.configs.selectors import release_live

    production = Environment.objects.get(name="production")
    assert production.change_requests_required and production.approvals_required == 1
    assert not Environment.objects.exclude(name="production").filter(change_requests_required=True).exists()
    # and a change there, even a superuser's, opens a change request and changes nothing
    pipeline = demo[0]
    live = release_live(pipeline, production)
    submitted = change_submit(
        kind="override",
        pipeline=pipeline,
        environment=production,
        actor=superuser,
        reason="try it",
        override={"description": "changed"},
    )
    assert submitted.requested and release_live(pipeline, production) == live
