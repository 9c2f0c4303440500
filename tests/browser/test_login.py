import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_login__good_credentials__lands_on_pipelines_with_navigation(login, live_server, django_user_model):
    # Given an editor account
    erin = django_user_model.objects.create_user("erin", password="correct horse battery")
    erin.groups.set([Group.objects.get_or_create(name=r)[0] for r in ("viewer", "editor")])
    # When she logs in through the form in Chromium
    page = login("erin", "correct horse battery")
    # Then she lands on Pipelines, with the main navigation and her name
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Pipelines")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    for section in ["Pipelines", "Runs", "Dashboards", "Audit"]:
        expect(nav.get_by_role("link", name=section)).to_be_visible()
    expect(page.locator(".who")).to_contain_text("erin")


def test_login__wrong_password__error_shown_and_still_anonymous(login, live_server, django_user_model):
    # Given an account
    django_user_model.objects.create_user("erin", password="correct horse battery")
    # When a wrong password is typed
    page = login("erin", "wrong")
    # Then the form says so and the console stays closed
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    page.goto(f"{live_server.url}/runs/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/runs/$"))


def test_logout__from_any_page__back_to_login(login, live_server, django_user_model):
    # Given a logged-in viewer on the audit page
    erin = django_user_model.objects.create_user("erin", password="correct horse battery")
    erin.groups.set([Group.objects.get_or_create(name="viewer")[0]])
    page = login("erin", "correct horse battery")
    page.get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    # When they log out
    page.get_by_role("button", name="Log out").click()
    # Then the login page shows
    expect(page).to_have_url(f"{live_server.url}/login/")


def test_login_page__anonymous__icon_shown_and_no_request_missing(page, live_server):
    # Given an anonymous visitor, every answer the browser gets recorded
    answers = []
    page.on("response", lambda response: answers.append((response.status, response.url)))
    # When she opens the login page
    page.goto(f"{live_server.url}/login/")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    page.wait_for_load_state("networkidle")
    # Then nothing the page needs is missing, and /favicon.ico, asked for by itself, is the console's icon
    assert [a for a in answers if a[0] >= 400] == []
    icon = page.request.get(f"{live_server.url}/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.url.endswith("/static/favicon.svg")
