"""The Environments area as a publisher meets it: a new environment, a service bound to
a vendor's HTTP endpoint with its secret named by environment variable, seen from the
pipeline's environment page; and a binding refused because it would break a live config."""

import copy

import pytest
from playwright.sync_api import expect

from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.defaults import ensure_default_environments
from pipelines_admin.configs.models import Environment, ServiceBinding
from pipelines_admin.releases import services as release_services

from .test_pipeline_page import DOCUMENT, user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kyc_pipeline(django_user_model):
    """Signup, live in development, its KYC rule (2 s time limit) calling service:KYCService:jumio."""
    ensure_default_environments(Environment)
    publisher = user(django_user_model, "paula", "viewer", "editor", "publisher")
    document = copy.deepcopy(DOCUMENT)
    document["stages"]["compliance"] = {
        "rules": {
            "kyc": {
                "class": "KYCIdentityRule",
                "params": {"kyc_service": "service:KYCService:jumio"},
                "timeout_seconds": 2,
            }
        }
    }
    pipeline = config_services.pipeline_create(
        slug="signup", name="Signup", document=document, author=publisher
    )
    release_services.release_create(
        pipeline=pipeline,
        environment=Environment.objects.get(name="development"),
        version=pipeline.versions.get(),
        actor=publisher,
    )
    return pipeline


def test_environments__create_bind_http_then_refused_binding__bound_where_valid_problems_where_not(
    login, live_server, kyc_pipeline
):
    # Given a publisher on the Environments page, reached from the header
    page = login("paula", "correct horse battery")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Environments").click()
    expect(page.get_by_role("heading", name="Environments", exact=True)).to_be_visible()

    # When she creates an environment
    new = page.locator("#new-environment")
    new.get_by_label("Name").fill("uat")
    new.get_by_label("Order").fill("25")
    new.get_by_label("Description").fill("User acceptance with the vendors' test systems")
    new.get_by_role("button", name="Create the environment").click()
    # Then she is on its page, which says nothing runs or is bound there yet
    expect(page).to_have_url(f"{live_server.url}/environments/uat/")
    expect(page.locator(".messages")).to_contain_text("Environment uat created")
    expect(page.locator("#bindings")).to_contain_text("No service is bound in uat")

    # When she binds the KYC vendor over HTTP, naming the variable that holds its key
    form = page.locator("#binding-form")
    form.get_by_label("Interface").select_option("KYCService")
    form.get_by_label("Name", exact=True).fill("jumio")
    expect(form.get_by_label("URL")).to_be_hidden()  # a simulated binding has no URL
    form.get_by_label("HTTP JSON endpoint").check()
    expect(form.get_by_label("Latency (ms)")).to_be_hidden()
    form.get_by_label("URL").fill("https://kyc-test.example.com/v1")
    form.get_by_label("Timeout (seconds)").fill("1.5")
    form.get_by_label("Secret from environment variable").fill("JUMIO_API_KEY")
    form.get_by_role("button", name="Bind the service").click()
    # Then it is listed with its endpoint and the variable's name
    expect(page.locator(".messages")).to_contain_text(
        "service:KYCService:jumio in uat now calls https://kyc-test.example.com/v1, its secret from JUMIO_API_KEY"
    )
    row = page.locator("#bindings tbody tr").first
    expect(row).to_contain_text("service:KYCService:jumio")
    expect(row).to_contain_text("secret from JUMIO_API_KEY")

    # and the pipeline's own page for uat shows it, and leads back to the environment
    page.goto(f"{live_server.url}/pipelines/signup/environments/uat/")
    expect(page.locator(".empty").first).to_contain_text("KYCService:jumio · HTTP JSON endpoint")
    page.get_by_role("link", name="Settings and service bindings of uat →").click()
    expect(page).to_have_url(f"{live_server.url}/environments/uat/")

    # When, in development where Signup runs, she binds the same vendor with a timeout longer than the rule's
    page.goto(f"{live_server.url}/environments/development/")
    services = page.locator("#services")
    expect(services).to_contain_text("compliance/kyc · gives up after 2 s")
    services.get_by_role("link", name="Bind…").click()
    form = page.locator("#binding-form")
    expect(form.get_by_label("Name", exact=True)).to_have_value("jumio")
    form.get_by_label("HTTP JSON endpoint").check()
    form.get_by_label("URL").fill("https://kyc.example.com/v1")
    form.get_by_label("Timeout (seconds)").fill("5")
    form.get_by_role("button", name="Bind the service").click()
    # Then nothing changes, and the page lists the pipeline with the problem's path and what to do
    refused = page.locator("#refused")
    expect(refused).to_contain_text("Nothing was changed.")
    expect(refused).to_contain_text("Signup")
    expect(refused).to_contain_text("/stages/compliance/rules/kyc/params/kyc_service")
    expect(refused).to_contain_text("Give the binding a timeout under 2 s")
    expect(page.locator("#binding-form").get_by_label("URL")).to_have_value("https://kyc.example.com/v1")
    assert not ServiceBinding.objects.filter(environment__name="development").exists()
