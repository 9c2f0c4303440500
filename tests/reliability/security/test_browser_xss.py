"""Cross-site scripting, in Chromium: hostile text in every place a user can put text (a
pipeline's name and description, stage names, rule ids, rule params, a `when`
condition, version messages, release and override reasons, an override's values, an
uploaded batch's file name and rows, a run's input, an API token's name, a test case's
name and description) is shown as text on every page that shows it, and never runs.

The browser context here ignores the Content-Security-Policy, so what is tested is the
escaping itself; the policy is a second wall (test_browser_csp.py)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import browser_type_launch_args  # noqa: F401  (fixture)
from tests.reliability.security.conftest import finish_batch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCRIPT = "<script>window.__xss=1</script>"
IMG = '"><img src=x onerror="window.__xss=1">'
SVG = "'><svg onload=window.__xss=1>"
HTMX = '<div hx-get="/logout/" hx-trigger="load" hx-on::load="window.__xss=1">x</div>'
PAYLOADS = (SCRIPT, IMG, SVG, HTMX)
# Stage names and rule ids are URL path segments: no "/" in them
STAGE = "checks" + IMG.replace("/", "")
RULE = "rule" + SVG


@pytest.fixture
def hostile(publisher, environments):
    """A pipeline made of hostile text, released, run, batched, audited."""
    from pipelines_admin.configs import services as config_services
    from pipelines_admin.configs.change_control import ChangeAuthority
    from pipelines_admin.releases import services as release_services
    from pipelines_admin.runs.batches import batch_create
    from pipelines_admin.runs.services import run_execute, run_submit
    from pipelines_admin.tokens.services import token_create

    document = {
        "version": "1.0",
        "stages": {
            STAGE: {
                "enabled": True,
                "fail_fast": False,
                "when": f'record.occupation != "{SCRIPT}"',
                "rules": {
                    RULE: {"class": "RequiredFieldsRule", "params": {"required_fields": ["name", HTMX]}},
                    "email_format": {
                        "class": "EmailFormatRule",
                        "params": {"field_name": "email"},
                        "dependencies": [RULE],
                    },
                },
            }
        },
    }
    pipeline = config_services.pipeline_create(
        slug="hostile",
        name=f"Hostile {SCRIPT}",
        description=IMG,
        document=document,
        author=publisher,
        message=SVG,
    )
    v1 = pipeline.versions.get()
    changed = json.loads(json.dumps(document))
    changed["stages"][STAGE]["rules"][RULE]["params"]["required_fields"].append(SCRIPT)
    config_services.config_version_create(
        pipeline=pipeline, document=changed, base_version=v1, author=publisher, message=f"second {SCRIPT}"
    )
    dev, prod = environments["development"], environments["production"]
    release_services.release_create(
        pipeline=pipeline, environment=dev, version=v1, actor=publisher, reason=IMG
    )
    release_services.override_set(
        pipeline=pipeline,
        environment=dev,
        actor=publisher,
        reason=SCRIPT,
        override={"stages": {STAGE: {"rules": {"email_format": {"params": {"field_name": HTMX}}}}}},
    )
    release_services.release_create(
        pipeline=pipeline,
        environment=prod,
        version=v1,
        actor=publisher,
        reason=SVG,
        gate_override=True,
        authority=ChangeAuthority("change_request", 0, ("paula",)),  # data set-up: approved before
    )
    record = {"name": SCRIPT, "email": IMG, "occupation": SCRIPT, "employer": IMG, SVG: HTMX}
    run = run_submit(pipeline=pipeline, environment=dev, record=record, actor=publisher)
    run_execute(run.pk)
    rows = json.dumps(record) + "\n" + '{"employer": "' + SCRIPT.replace('"', "") + '", broken\n'
    batch = finish_batch(
        batch_create(
            pipeline=pipeline, environment=dev, filename=f"{IMG}.jsonl", data=rows.encode(), actor=publisher
        )
    )
    token_create(user=publisher, name=SCRIPT)
    from pipelines_admin.testcases.services import case_create

    case = case_create(
        pipeline=pipeline,
        name=f"case {SCRIPT}",
        description=IMG,
        record=record,
        actor=publisher,
        expected={"status": "failed"},
    )
    return {"run": run, "batch": batch, "case": case}


def pages(hostile) -> list[str]:
    from django.urls import reverse

    run, batch = hostile["run"].pk, hostile["batch"].pk
    rule_edit = reverse("console:rule-edit", kwargs={"slug": "hostile", "stage": STAGE, "rule": RULE})
    stage_edit = reverse("console:stage-edit", kwargs={"slug": "hostile", "stage": STAGE})
    return [
        "/",
        "/pipelines/hostile/",
        "/pipelines/hostile/versions/",
        "/pipelines/hostile/versions/1/",
        "/pipelines/hostile/versions/diff/?a=1&b=2",
        "/pipelines/hostile/environments/development/",
        "/pipelines/hostile/environments/diff/?a=development&b=production",
        "/pipelines/hostile/edit/",
        rule_edit,
        stage_edit,
        "/pipelines/hostile/try/",
        "/runs/",
        f"/runs/{run}/",
        f"/runs/compare/?a={run}&b={run}",
        "/batches/",
        f"/batches/{batch}/",
        "/dashboards/",
        "/audit/",
        "/account/tokens/",
        "/pipelines/hostile/tests/",
        f"/pipelines/hostile/tests/{hostile['case'].pk}/",
    ]


INJECTED = """() => document.querySelectorAll(
  'img[src="x"], svg[onload], [onerror], [onload], [hx-on\\\\:\\\\:load], main script:not([src]):not([type="application/json"])'
).length"""


def test_hostile_text__every_page_that_shows_it__shown_as_text_never_run(browser, live_server, hostile):
    # Given a browser that ignores the CSP, logged in as the publisher
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("pat")
    page.get_by_label("Password").fill("pat-password-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    for path in pages(hostile):
        # When each page showing hostile text loads (and htmx has had its chance to act)
        response = page.goto(f"{live_server.url}{path}", wait_until="load")
        assert response.status == 200, path
        page.wait_for_timeout(50)
        # Then the text is there, as text, and nothing of it ran or became an element
        text = page.locator("body").inner_text()
        assert "__xss=1" in text, f"{path}: no hostile text shown: this page proves nothing"
        assert page.evaluate("window.__xss") is None, path
        assert page.evaluate(INJECTED) == 0, path
        assert page.url.startswith(f"{live_server.url}{path.split('?')[0]}"), (
            path
        )  # no hx-get to /logout/ ran
    assert dialogs == []
    context.close()


def test_rule_id_and_stage_name__hostile_text__accepted_by_the_validator_and_kept_verbatim():
    # Rule ids and stage names are free text in the config format: the validator accepts
    # them (the pages above show them inert), and the engine keeps them as they are
    import rules_engine

    document = {
        "version": "1.0",
        "stages": {
            STAGE: {"rules": {RULE: {"class": "RequiredFieldsRule", "params": {"required_fields": ["name"]}}}}
        },
    }
    assert rules_engine.validate_config(document) == []
    result = rules_engine.compile_pipeline(document).run({"name": "x"}).to_dict()
    assert result["stages"][0]["name"] == STAGE and result["stages"][0]["rules"][0]["id"] == RULE
