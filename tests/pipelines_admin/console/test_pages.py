from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import reverse

PAGES = ["/", "/runs/", "/dashboards/", "/audit/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_page__anonymous__redirected_to_login(client, path):
    # Given an anonymous visitor / When a console page is asked
    response = client.get(path)
    # Then the visitor is sent to the login page, coming back afterwards
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={path}"


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_page__logged_in__renders_with_navigation(client, django_user_model, path):
    # Given a logged-in viewer
    user = django_user_model.objects.create_user("vera", password="pw-for-tests-1")
    user.groups.set([Group.objects.get_or_create(name="viewer")[0]])
    client.force_login(user)
    # When the page is asked
    response = client.get(path)
    # Then it renders with the four sections in the navigation and the current one marked
    assert response.status_code == 200
    html = response.content.decode()
    for label, href in [
        ("Pipelines", "/"),
        ("Runs", "/runs/"),
        ("Dashboards", "/dashboards/"),
        ("Audit", "/audit/"),
    ]:
        assert f'href="{href}"' in html and label in html
    assert f'href="{path}" aria-current="page"' in html


@pytest.mark.django_db
def test_login_page__anonymous__served_with_csrf_token(client):
    # Given / When an anonymous visitor opens the login page
    response = client.get(reverse("login"))
    # Then it is served, with a CSRF token in the form
    assert response.status_code == 200
    assert "csrfmiddlewaretoken" in response.content.decode()


@pytest.mark.django_db
def test_logout__get__not_allowed_and_post_logs_out(client, django_user_model):
    # Given a logged-in user
    client.force_login(django_user_model.objects.create_user("lou", password="pw-for-tests-2"))
    # When they log out with POST (GET is refused: logging out changes state)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    # Then they land on the login page and console pages need a login again
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_favicon__anonymous__sent_to_the_consoles_icon_which_every_page_links(client):
    # Given an anonymous visitor
    # When the browser asks for /favicon.ico by itself
    response = client.get("/favicon.ico")
    # Then it is sent to the console's icon, a static SVG file, without a login
    assert response.status_code == 302 and response["Location"] == static("favicon.svg")
    icon = Path(finders.find("favicon.svg")).read_text(encoding="utf-8")
    assert icon.startswith("<svg") and "<script" not in icon
    # and the pages link that icon themselves
    html = client.get(reverse("login")).content.decode()
    assert f'<link rel="icon" href="{static("favicon.svg")}" type="image/svg+xml">' in html
