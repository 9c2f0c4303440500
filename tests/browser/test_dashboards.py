import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.defaults import ensure_default_environments
from pipelines_admin.configs.models import Environment
from pipelines_admin.configs.samples import sample_applications
from pipelines_admin.demo.pipelines import example_document
from pipelines_admin.releases import services as release_services
from pipelines_admin.runs import services as run_services

pytestmark = pytest.mark.django_db(transaction=True)

# what each table and its card measure, in CSS pixels
MEASURE = """() => [...document.querySelectorAll("main table")].map((table) => {
  const card = table.closest(".card");
  const style = getComputedStyle(card);
  return {heading: card.querySelector("h2").textContent, table: table.scrollWidth, card: card.clientWidth,
          inside: card.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
          cardScroll: card.scrollWidth};
})"""


@pytest.fixture
def finished_runs(django_user_model, monkeypatch):
    """The customer onboarding example live in development, every sample application run
    there to the end (in this process), so the dashboards have rule statistics."""
    monkeypatch.setattr(run_services, "run_enqueue", lambda run_id: True)  # executed here, not by a worker
    ensure_default_environments(Environment)
    editor = django_user_model.objects.create_user("erin", password="correct horse battery")
    editor.groups.set([Group.objects.get_or_create(name=r)[0] for r in ("viewer", "editor")])
    pipeline = config_services.pipeline_create(
        slug="customer-onboarding",
        name="Customer onboarding",
        document=example_document("customer_onboarding.json"),
        author=editor,
    )
    development = Environment.objects.get(name="development")
    release_services.release_create(
        pipeline=pipeline, environment=development, version=pipeline.versions.get(), actor=editor
    )
    for sample in sample_applications():
        run = run_services.run_submit(
            pipeline=pipeline, environment=development, record=sample["record"], actor=editor
        )
        run_services.run_execute(run.pk)
    return pipeline


@pytest.mark.parametrize("width,height", [(1366, 768), (1920, 1080)])
def test_dashboards__finished_runs__every_table_fits_its_card_without_page_overflow(
    login, live_server, page, finished_runs, width, height
):
    # Given runs with passing and failing rules, and a window as wide as a laptop's or a desktop's
    page.set_viewport_size({"width": width, "height": height})
    login("erin", "correct horse battery")
    # When the dashboards are opened
    page.goto(f"{live_server.url}/dashboards/")
    expect(page.get_by_role("heading", name="Slowest rules (p95)")).to_be_visible()
    tables = page.evaluate(MEASURE)
    # Then both rule tables are there, each inside its card's padding, with nothing to scroll sideways
    assert [t["heading"] for t in tables] == ["Slowest rules (p95)", "Rules failing most"]
    for measured in tables:
        assert measured["table"] <= measured["inside"], measured
        assert measured["cardScroll"] <= measured["card"], measured
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
