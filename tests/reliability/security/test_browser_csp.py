"""In Chromium, under the Content-Security-Policy: the console's main pages load without a
single violation or script error, the dashboards' chart draws, and htmx still swaps
fragments in place. A script injected inline is blocked (the policy is really enforced)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import browser_type_launch_args, login  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


def watch(page) -> list[str]:
    """Every CSP violation, console error and uncaught exception the page reports."""
    problems: list[str] = []
    page.add_init_script(WATCH_VIOLATIONS)

    def on_console(message):
        # a failed load is reported below with its URL (the browser asks for /favicon.ico on its own)
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console {message.type}: {message.text}")

    def on_response(response):
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            problems.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return problems


def main_pages(estate) -> list[str]:
    run, batch = estate["run"].pk, estate["done_batch"].pk
    return [
        "/",
        "/pipelines/onboarding/",
        "/pipelines/onboarding/versions/",
        "/pipelines/onboarding/versions/2/",
        "/pipelines/onboarding/versions/diff/?a=1&b=2",
        "/pipelines/onboarding/environments/development/",
        "/pipelines/onboarding/environments/diff/?a=development&b=staging",
        "/pipelines/onboarding/edit/",
        "/pipelines/onboarding/stages/business_rules/rules/age_verification/edit/",
        "/pipelines/onboarding/stages/data_quality/edit/",
        "/pipelines/onboarding/stages/business_rules/rules/add/?class=AgeVerificationRule",
        "/pipelines/onboarding/try/",
        "/runs/",
        f"/runs/{run}/",
        f"/runs/compare/?a={run}&b={run}",
        "/batches/",
        f"/batches/{batch}/",
        "/dashboards/",
        "/audit/",
        "/account/tokens/",
        "/pipelines/onboarding/tests/",
        f"/pipelines/onboarding/tests/suite-runs/{estate['suite'].pk}/",
        "/pipelines/onboarding/impact/",
        f"/pipelines/onboarding/impact/{estate['report'].pk}/",
    ]


def test_main_pages__under_the_policy__no_violation_no_script_error(page, live_server, login, estate):
    # Given a publisher logged in through the form, and every main page with content on it
    problems = watch(page)
    login("pat", "pat-password-1")
    for path in main_pages(estate):
        # When each page loads in Chromium
        response = page.goto(f"{live_server.url}{path}", wait_until="load")
        assert response.status == 200, path
        expect(page.locator("main")).to_be_visible()
        # Then nothing was blocked and no script failed
        violations = page.evaluate("window.__violations")
        assert violations == [] and problems == [], (path, violations, problems)


def test_dashboards__under_the_policy__chart_drawn(page, live_server, login, estate):
    problems = watch(page)
    login("vic", "vic-password-1")
    # When the dashboards open, with a finished run in the window
    page.goto(f"{live_server.url}/dashboards/")
    # Then Chart.js drew the throughput chart, and nothing was blocked
    page.wait_for_function("typeof Chart !== 'undefined' && Chart.getChart('throughput-chart') !== undefined")
    assert page.evaluate("Chart.getChart('throughput-chart').data.datasets.map(d => d.label)") == [
        "passed",
        "failed",
        "review",
        "undecided",
        "error",
    ]
    assert page.evaluate("document.getElementById('throughput-chart').width") > 0
    assert page.evaluate("window.__violations") == [] and problems == []


def test_htmx__under_the_policy__filter_swaps_the_table_in_place(page, live_server, login, estate):
    problems = watch(page)
    login("vic", "vic-password-1")
    page.goto(f"{live_server.url}/audit/")
    page.evaluate("window.notReloaded = true")
    rows_before = page.locator("#event-table tbody tr").count()
    # When a filter is chosen (htmx fetches the table and swaps it in)
    page.locator("select[name=action]").select_option("run.completed")
    # Then the table shows only those events, the page was not reloaded, nothing was blocked
    expect(page).to_have_url(re.compile(r"/audit/\?.*action=run\.completed"))
    expect(page.locator("#event-table tbody tr")).to_have_count(1)
    assert rows_before > 1
    assert page.evaluate("window.notReloaded") is True
    assert page.evaluate("window.__violations") == [] and problems == []


def test_inline_script__injected_into_a_page__blocked_by_the_policy(page, live_server, login, estate):
    # Given a console page
    watch(page)
    login("vic", "vic-password-1")
    page.goto(f"{live_server.url}/runs/")
    # When an inline script and an inline event handler get into the DOM
    page.evaluate("""() => {
        const s = document.createElement("script");
        s.textContent = "window.__inline = 1";
        document.body.appendChild(s);
        const img = document.createElement("img");
        img.setAttribute("src", "data:,x");
        img.setAttribute("onerror", "window.__handler = 1");
        document.body.appendChild(img);
    }""")
    page.wait_for_function("window.__violations.length >= 1")
    # Then neither runs, and the browser reports the violation
    assert page.evaluate("window.__inline") is None
    assert page.evaluate("window.__handler") is None
    assert any(v.startswith("script-src") for v in page.evaluate("window.__violations"))


def test_api_docs__under_the_policy__render_without_violation(page, live_server, login, estate):
    # Given a viewer on the API's Swagger UI and ReDoc pages (both from local files)
    problems = watch(page)
    login("vic", "vic-password-1")
    # When Swagger UI loads
    page.goto(f"{live_server.url}/api/schema/swagger-ui/")
    # Then it renders the operations, and nothing was blocked
    expect(page.locator(".opblock").first).to_be_visible(timeout=15000)
    assert page.evaluate("window.__violations") == [] and problems == []
    # When ReDoc loads
    page.goto(f"{live_server.url}/api/schema/redoc/")
    expect(page.get_by_text("Rules console API").first).to_be_visible(timeout=15000)
    # Then it renders; the one thing blocked is its vendor's logo from another site
    # (nothing leaves the console's origin), and its page still allows no inline script
    blocked = [
        v for v in page.evaluate("window.__violations") if not v.startswith("img-src https://cdn.redoc.ly/")
    ]
    assert blocked == [] and [p for p in problems if "cdn.redoc.ly" not in p] == []
    policy = page.request.get(f"{live_server.url}/api/schema/redoc/").headers["content-security-policy"]
    assert "script-src 'self';" in policy and "style-src 'self' 'unsafe-inline'" in policy
