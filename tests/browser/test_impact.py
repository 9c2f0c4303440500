import time
from datetime import date

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.defaults import ensure_default_environments
from pipelines_admin.configs.models import Environment
from pipelines_admin.releases import services as release_services
from pipelines_admin.runs import services as run_services
from pipelines_admin.runs.models import Run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

DOCUMENT = {
    "stages": {
        "data_quality": {
            "rules": {
                "required_fields": {
                    "class": "RequiredFieldsRule",
                    "params": {"required_fields": ["name", "email"]},
                },
                "email_format": {
                    "class": "EmailFormatRule",
                    "params": {"field_name": "email"},
                    "dependencies": ["required_fields"],
                },
            }
        },
        "business_rules": {
            "rules": {
                "age_verification": {
                    "class": "AgeVerificationRule",
                    "params": {"minimum_age": 18},
                    "cross_stage_dependencies": ["required_fields"],
                }
            }
        },
    }
}


def born(years_ago: int) -> str:
    today = date.today()
    return today.replace(year=today.year - years_ago, day=min(today.day, 28)).isoformat()


def test_impact__editor_analyses_a_stricter_version__report_with_chart_and_masked_samples(
    login, live_server, django_user_model, celery_worker_process, page
):
    # Given an editor, Signup v1 live in development with 10 past runs there (4 of them 19 or 20 years old),
    # and a v2 raising the minimum age to 21
    ensure_default_environments(Environment)
    editor = django_user_model.objects.create_user("erin", password="correct horse battery")
    editor.groups.set([Group.objects.get_or_create(name=r)[0] for r in ("viewer", "editor")])
    pipeline = config_services.pipeline_create(slug="signup", name="Signup", document=DOCUMENT, author=editor)
    development = Environment.objects.get(name="development")
    release_services.release_create(
        pipeline=pipeline, environment=development, version=pipeline.versions.get(), actor=editor
    )
    for i, age in enumerate([35, 19, 42, 20, 61, 19, 28, 20, 50, 33]):
        run_services.run_submit(
            pipeline=pipeline,
            environment=development,
            actor=editor,
            record={
                "name": f"Applicant {i}",
                "email": f"applicant{i}@example.com",
                "date_of_birth": born(age),
                "ssn": f"123-45-{6700 + i}",
            },
        )
    stricter = {
        **DOCUMENT,
        "stages": {
            **DOCUMENT["stages"],
            "business_rules": {
                "rules": {
                    "age_verification": {
                        **DOCUMENT["stages"]["business_rules"]["rules"]["age_verification"],
                        "params": {"minimum_age": 21},
                    }
                }
            },
        },
    }
    config_services.config_version_create(
        pipeline=pipeline,
        document=stricter,
        base_version=pipeline.versions.get(),
        author=editor,
        message="Minimum age 21",
    )
    deadline = time.monotonic() + 60
    while Run.objects.exclude(status__in=Run.FINISHED).exists():  # the worker runs the past applications
        assert time.monotonic() < deadline, celery_worker_process.log()
        time.sleep(0.2)
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    # When she analyses v2 against development's last 100 runs
    login("erin", "correct horse battery")
    page.goto(f"{live_server.url}/pipelines/signup/impact/?environment=development")
    expect(page.get_by_label("Candidate version")).to_have_value("2")
    page.get_by_label("Replay the last").fill("100")
    page.get_by_role("button", name="Start the analysis").click()
    # Then the report follows the workers and shows the flips when they are done
    expect(page.get_by_role("heading", name="Impact report #")).to_be_visible()
    report = page.locator("#report")
    expect(report).to_contain_text("4 that passed would no longer pass", timeout=60_000)

    def tile(label):
        return report.locator(".tile", has=page.get_by_text(label, exact=True)).locator(".value")

    expect(tile("Replayed")).to_have_text("10")
    expect(tile("Would no longer pass")).to_have_text("4")
    expect(tile("Unchanged")).to_have_text("6")
    expect(report.locator("#decisions td.cell-to_fail.nonzero")).to_have_text("4")
    expect(report.locator("#rules tr.changed")).to_have_count(1)
    expect(report.locator("#rules tr.changed")).to_contain_text("age_verification")
    # the chart of the changed rules is drawn
    chart = page.locator("#rule-chart")
    expect(chart).to_have_attribute("data-drawn", "true")
    assert chart.bounding_box()["height"] > 50
    # the flipped applications, side by side, masked, linked to their runs
    samples = report.locator("details.sample")
    expect(samples).to_have_count(4)
    first = samples.first
    expect(first).to_contain_text("would no longer pass")
    expect(first.locator("tr.changed")).to_contain_text("age_verification")
    expect(first.get_by_role("link", name="Open the original run")).to_be_visible()
    html = page.content()
    assert "123-45-67" not in html and "applicant1@example.com" not in html
    assert violations == []
    # and the list of analyses has it, completed
    page.get_by_role("link", name="All analyses").click()
    expect(page.locator("#reports")).to_contain_text("completed")
    expect(page.locator("#reports .flip-to_fail")).to_have_text("4")
