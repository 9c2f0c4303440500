import json

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.defaults import ensure_default_environments
from pipelines_admin.configs.models import Environment
from pipelines_admin.releases import services as release_services

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
        }
    }
}


def test_batch_upload__real_worker__progress_bar_fills_without_reloading(
    login, live_server, django_user_model, celery_worker_process, tmp_path, settings
):
    # Given an editor, a released pipeline, and a file of 40 applications (3 without email)
    settings.BATCH_CHUNK_SIZE = 10
    ensure_default_environments(Environment)
    editor = django_user_model.objects.create_user("erin", password="correct horse battery")
    editor.groups.set([Group.objects.get_or_create(name=r)[0] for r in ("viewer", "editor")])
    pipeline = config_services.pipeline_create(slug="signup", name="Signup", document=DOCUMENT, author=editor)
    release_services.release_create(
        pipeline=pipeline,
        environment=Environment.objects.get(name="development"),
        version=pipeline.versions.get(),
        actor=editor,
    )
    rows = [{"name": f"Applicant {i}", "email": f"applicant{i}@example.com"} for i in range(37)]
    rows += [{"name": "No Email"}] * 3
    upload = tmp_path / "applications.jsonl"
    upload.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    # When she uploads it from the batches page
    page = login("erin", "correct horse battery")
    page.goto(f"{live_server.url}/batches/")
    page.get_by_label("Pipeline").select_option("signup")
    page.get_by_label("Environment").select_option("development")
    page.get_by_label("File").set_input_files(str(upload))
    page.get_by_role("button", name="Upload and run").click()
    # Then the progress page follows the worker until every application is processed
    expect(page.get_by_role("heading", name="applications.jsonl")).to_be_visible()
    progress = page.locator("#progress")
    expect(progress).to_contain_text("40 of 40 processed", timeout=60_000)
    expect(progress).to_contain_text("37 passed")
    expect(progress).to_contain_text("3 failed")
    expect(progress.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "40")
    expect(page.get_by_role("button", name="Cancel batch")).to_have_count(0)
