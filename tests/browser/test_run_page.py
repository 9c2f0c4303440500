import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.defaults import ensure_default_environments
from pipelines_admin.configs.models import Environment
from pipelines_admin.releases import services as release_services
from pipelines_admin.runs.models import Run
from pipelines_admin.runs.services import run_execute

pytestmark = pytest.mark.django_db(transaction=True)

DOCUMENT = {
    "stages": {
        "data_quality": {
            "rules": {
                "required_fields": {
                    "class": "RequiredFieldsRule",
                    "params": {"required_fields": ["name", "email"]},
                },
                "trim_occupation": {"class": "TrimWhitespaceRule", "params": {"field_name": "occupation"}},
            }
        }
    }
}


@pytest.fixture
def editor(django_user_model):
    """An editor, and a pipeline released to development."""
    ensure_default_environments(Environment)
    account = django_user_model.objects.create_user("erin", password="correct horse battery")
    account.groups.set([Group.objects.get_or_create(name=r)[0] for r in ("viewer", "editor")])
    pipeline = config_services.pipeline_create(
        slug="signup", name="Signup", document=DOCUMENT, author=account
    )
    release_services.release_create(
        pipeline=pipeline,
        environment=Environment.objects.get(name="development"),
        version=pipeline.versions.get(),
        actor=account,
    )
    return account


def test_run_page__result_arrives_while_open__data_after_the_rules_and_save_card_appear_without_reload(
    login, live_server, editor
):
    # Given an editor who submits an application from the try page (no worker has taken it yet)
    page = login("erin", "correct horse battery")
    page.goto(f"{live_server.url}/pipelines/signup/try/")
    page.get_by_label("Application (JSON)").fill(
        '{"name": "Ann Lee", "email": "ann@example.com", "occupation": "  Nurse ", "newsletter": true}'
    )
    page.get_by_role("button", name="Run on the worker").click()
    expect(page.get_by_text("Waiting for the worker")).to_be_visible()
    after = page.locator("section", has=page.get_by_role("heading", name="After the rules"))
    expect(after).to_contain_text("Not run yet.")
    expect(page.get_by_role("button", name="Save as test case")).to_have_count(0)
    page.evaluate("window.notReloaded = true")
    # When the worker finishes the run while the page is open
    run_execute(Run.objects.get().pk)
    # Then the result, the data after the rules and the save-as-test-case card appear in place
    expect(page.locator("#run-result")).to_contain_text("passed", timeout=10_000)
    expect(after).to_contain_text('"occupation": "Nurse"')
    expect(after).to_contain_text('"newsletter": true')
    expect(after).not_to_contain_text("Not run yet.")
    expect(page.get_by_role("button", name="Save as test case")).to_be_visible()
    expect(page.get_by_text("Waiting for the worker")).to_have_count(0)
    # without a reload, and the polling stopped
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator("[hx-trigger]")).to_have_count(0)


def test_runs_page__filter_changed__table_replaced_in_place_once(login, live_server, editor):
    # Given one finished run (undecided: it has no occupation to trim) and one queued run
    from pipelines_admin.configs.models import Pipeline
    from pipelines_admin.runs.services import run_submit

    pipeline, development = Pipeline.objects.get(), Environment.objects.get(name="development")
    done = run_submit(
        pipeline=pipeline,
        environment=development,
        record={"name": "A", "email": "a@example.com"},
        actor=editor,
    )
    run_execute(done.pk)
    run_submit(
        pipeline=pipeline,
        environment=development,
        record={"name": "B", "email": "b@example.com"},
        actor=editor,
    )
    page = login("erin", "correct horse battery")
    page.goto(f"{live_server.url}/runs/")
    expect(page.locator("#run-table tbody tr")).to_have_count(2)
    # When the status filter changes, twice
    page.get_by_label("Status").select_option("undecided")
    expect(page.locator("#run-table tbody tr")).to_have_count(1)
    page.get_by_label("Status").select_option("queued")
    expect(page.locator("#run-table tbody tr")).to_have_count(1)
    # Then there is still exactly one table, not one nested in the other
    expect(page.locator("#run-table")).to_have_count(1)


def test_run_page__partial_run__undecided_with_the_checks_that_did_not_run(login, live_server, editor):
    # Given an editor who runs only the data_quality stage of a two-stage pipeline
    from pipelines_admin.configs.models import Pipeline

    pipeline = Pipeline.objects.get()
    document = {
        "stages": {
            **DOCUMENT["stages"],
            "post": {
                "rules": {"trim_name": {"class": "TrimWhitespaceRule", "params": {"field_name": "name"}}}
            },
        }
    }
    version = config_services.config_version_create(
        pipeline=pipeline,
        document=document,
        base_version=pipeline.versions.get(),
        author=editor,
        message="A second stage",
    )
    release_services.release_create(
        pipeline=pipeline,
        environment=Environment.objects.get(name="development"),
        version=version,
        actor=editor,
    )
    page = login("erin", "correct horse battery")
    page.goto(f"{live_server.url}/pipelines/signup/try/")
    page.get_by_label("Application (JSON)").fill(
        '{"name": "Ann Lee", "email": "ann@example.com", "occupation": "Nurse"}'
    )
    page.get_by_label("data_quality").check()
    page.get_by_role("button", name="Run on the worker").click()
    expect(page.get_by_text("Waiting for the worker")).to_be_visible()
    # When the worker runs it
    run_execute(Run.objects.get().pk)
    # Then it is undecided and labelled partial, naming the stage that did not run; it cannot be a test case
    result = page.locator("#run-result")
    expect(result.locator(".status-undecided")).to_have_text("undecided", timeout=10_000)
    expect(result.locator(".partial-tag")).to_have_text("partial")
    expect(result.get_by_role("heading", name="Not decided: 1 check did not run")).to_be_visible()
    expect(result).to_contain_text("Stage 'post' did not run: not selected.")
    expect(page.get_by_role("button", name="Save as test case")).to_have_count(0)


def test_run_page__referred_to_a_person__decision_with_reasons_and_next_steps_shown(
    login, live_server, editor
):
    # Given a pipeline whose required-fields check refers an incomplete application to two reviewers
    from pipelines_admin.configs.models import Pipeline
    from pipelines_admin.runs.services import run_submit

    pipeline = Pipeline.objects.get()
    document = {
        "stages": {
            "data_quality": {
                "next_step": "Tell the applicant what is missing",
                "rules": {
                    **DOCUMENT["stages"]["data_quality"]["rules"],
                    "required_fields": {
                        **DOCUMENT["stages"]["data_quality"]["rules"]["required_fields"],
                        "on_fail": "review",
                        "review": {"approvals": 2},
                        "reason_code": "MISSING_DETAILS",
                        "customer_message": "We need a few more details from you.",
                    },
                },
            }
        }
    }
    version = config_services.config_version_create(
        pipeline=pipeline,
        document=document,
        base_version=pipeline.versions.get(),
        author=editor,
        message="Incomplete applications go to a person",
    )
    development = Environment.objects.get(name="development")
    release_services.release_create(pipeline=pipeline, environment=development, version=version, actor=editor)
    run = run_submit(
        pipeline=pipeline,
        environment=development,
        record={"name": "Ann Lee", "occupation": " Nurse "},
        actor=editor,
    )
    run_execute(run.pk)
    # When the editor opens the run's page
    page = login("erin", "correct horse battery")
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    # Then the decision panel shows the decision, the reason with its code and message, and the next step
    decision = page.locator("#decision")
    expect(decision.get_by_role("heading", name="Decision: To review")).to_be_visible()
    expect(decision).to_contain_text("2 approvals from different reviewers needed")
    reason = decision.locator("table.reasons tbody tr")
    expect(reason).to_have_count(1)
    expect(reason).to_contain_text("required_fields")
    expect(reason.locator("code")).to_have_text("MISSING_DETAILS")
    expect(reason).to_contain_text("We need a few more details from you.")
    expect(decision.locator("ol.next-steps li")).to_have_text(["Tell the applicant what is missing"])
    # and the routed rule is marked in the rule-by-rule trace, above which the panel sits
    routed = page.locator("article.stage tr", has=page.get_by_role("rowheader", name="required_fields"))
    expect(routed.locator(".routed-tag")).to_have_text("routed to review")
    expect(page.locator("article.stage .routed-tag")).to_have_count(1)
    assert decision.bounding_box()["y"] < page.locator("article.stage").first.bounding_box()["y"]
