import json
import re

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.defaults import ensure_default_environments
from pipelines_admin.configs.models import Environment

pytestmark = pytest.mark.django_db(transaction=True)

DOCUMENT = {
    "stages": {
        "data_quality": {
            "rules": {
                "required_fields": {
                    "class": "RequiredFieldsRule",
                    "params": {"required_fields": ["name", "email"]},
                }
            }
        }
    }
}


def user(django_user_model, username, *roles):
    account = django_user_model.objects.create_user(username, password="correct horse battery")
    account.groups.set([Group.objects.get_or_create(name=r)[0] for r in roles])
    return account


@pytest.fixture
def trail(django_user_model):
    """Signup by an editor, with a second version adding eight rules, and an environment
    a publisher added."""
    ensure_default_environments(Environment)
    editor = user(django_user_model, "erin", "viewer", "editor")
    publisher = user(django_user_model, "paula", "viewer", "editor", "publisher")
    user(django_user_model, "vince", "viewer")
    pipeline = config_services.pipeline_create(slug="signup", name="Signup", document=DOCUMENT, author=editor)
    document = json.loads(json.dumps(DOCUMENT))
    for n in range(1, 9):
        document["stages"]["data_quality"]["rules"][f"check_{n}"] = {
            "class": "RequiredFieldsRule",
            "params": {"required_fields": ["name"]},
        }
    config_services.config_version_create(
        pipeline=pipeline,
        document=document,
        base_version=pipeline.versions.get(),
        author=editor,
        message="Eight more checks",
    )
    config_services.environment_create(name="sandbox", actor=publisher)
    return pipeline


def test_audit__long_change_list__opens_in_place_and_closes_again(login, live_server, page, trail):
    # Given a viewer on the audit page, where v2's eight changes are listed
    login("vince", "correct horse battery")
    page.goto(f"{live_server.url}/audit/")
    row = page.locator("tr", has_text="Eight more checks")
    expect(row.get_by_text("Rule check_1 (RequiredFieldsRule) added to data_quality.")).to_be_visible()
    expect(row.get_by_text("Rule check_8 (RequiredFieldsRule) added to data_quality.")).to_be_hidden()
    # When he asks for all of them
    row.get_by_text("Show all 8 changes").click()
    # Then the rest shows in the same row, on the same page, and can be folded again
    expect(row.get_by_text("Rule check_8 (RequiredFieldsRule) added to data_quality.")).to_be_visible()
    assert page.url == f"{live_server.url}/audit/"
    row.get_by_text("Show the first 3 only").click()
    expect(row.get_by_text("Rule check_8 (RequiredFieldsRule) added to data_quality.")).to_be_hidden()


def test_audit__filter_by_person_and_date__table_replaced_in_place_with_the_filters_in_the_address(
    login, live_server, page, trail
):
    # Given a viewer on the audit page
    login("vince", "correct horse battery")
    page.goto(f"{live_server.url}/audit/")
    table = page.locator("#event-table")
    expect(table.get_by_text("environment.created")).to_be_visible()
    # When he picks the editor, then today as the first day
    page.get_by_label("Person").select_option("erin")
    expect(table.get_by_text("environment.created")).to_have_count(0)
    page.get_by_label("From").fill(timezone.now().date().isoformat())
    # Then the events listed are the editor's, in one table replaced in place, the address saying which
    expect(page).to_have_url(re.compile(rf"actor=erin.*from={timezone.now().date().isoformat()}"))
    expect(table.get_by_text("config_version.created")).to_have_count(2)
    expect(page.locator("#event-table")).to_have_count(1)
    # and a first day after today leaves nothing
    page.get_by_label("From").fill("2999-01-01")
    expect(table.get_by_text("No events match these filters.")).to_be_visible()
    expect(page.locator("#event-table")).to_have_count(1)
