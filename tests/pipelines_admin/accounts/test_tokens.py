"""Personal API tokens: the services and the console page at /account/tokens/."""

import hashlib

import pytest

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.core.errors import InvalidInput, NotAllowed
from pipelines_admin.tokens.models import ApiToken
from pipelines_admin.tokens.services import token_authenticate, token_create, token_revoke

pytestmark = pytest.mark.django_db


def test_token_create__user__secret_returned_hash_and_prefix_stored_audited(editor):
    # Given / When a token is created
    created = token_create(user=editor, name="  release job  ")
    # Then the secret is returned once; the row keeps its SHA-256 and first characters only
    token = ApiToken.objects.get()
    assert created.secret.startswith("rcp_") and len(created.secret) > 40
    assert token.secret_hash == hashlib.sha256(created.secret.encode()).hexdigest()
    assert created.secret.startswith(token.prefix) and len(token.prefix) == 12
    assert token.name == "release job" and token.active
    # and the audit trail says who created which token, without the secret
    event = AuditEvent.objects.get(action="api_token.created")
    assert event.actor_name == "eddie" and created.secret not in str(event.hashed_fields())


def test_token_create__blank_name__invalid(editor):
    # Given a blank name / When a token is created / Then it is refused
    with pytest.raises(InvalidInput):
        token_create(user=editor, name="   ")


def test_token_authenticate__active_revoked_or_unknown__only_active_authenticates(editor):
    # Given a token
    created = token_create(user=editor, name="ci")
    # Then its secret authenticates as its user; a wrong one does not
    assert token_authenticate(created.secret).user == editor
    assert token_authenticate(created.secret + "x") is None
    assert token_authenticate("not-even-the-format") is None
    # When revoked / Then it no longer does
    token_revoke(token=created.token, actor=editor)
    assert token_authenticate(created.secret) is None
    assert AuditEvent.objects.filter(action="api_token.revoked", actor_name="eddie").exists()


def test_token_revoke__another_user__not_allowed_superuser_may(editor, viewer, superuser):
    # Given an editor's token / When a viewer, then a superuser revokes it / Then only the superuser may, once
    created = token_create(user=editor, name="ci")
    with pytest.raises(NotAllowed):
        token_revoke(token=created.token, actor=viewer)
    token_revoke(token=created.token, actor=superuser)
    with pytest.raises(InvalidInput):
        token_revoke(token=ApiToken.objects.get(), actor=editor)


def test_tokens_page__anonymous__redirected_to_login(client):
    # Given no session / When the tokens page is opened / Then the login page comes first
    response = client.get("/account/tokens/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/account/tokens/"


def test_tokens_page__create__secret_shown_once(client, editor):
    # Given a logged-in editor
    client.force_login(editor)
    # When they create a token on the page
    response = client.post("/account/tokens/", {"name": "release job"})
    # Then the secret is shown in that answer (not cached), and listed by prefix afterwards only
    secret = ApiToken.objects.get()
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert 'id="new-token"' in html and "rcp_" in html
    later = client.get("/account/tokens/").content.decode()
    assert 'id="new-token"' not in later and f"{secret.prefix}…" in later and "release job" in later


def test_tokens_page__blank_name__400_with_error(client, editor):
    # Given a blank name / When submitted / Then 400 and no token
    client.force_login(editor)
    response = client.post("/account/tokens/", {"name": ""})
    assert response.status_code == 400 and not ApiToken.objects.exists()


def test_tokens_page__revoke__token_revoked(client, editor):
    # Given a token listed on the page
    client.force_login(editor)
    token = token_create(user=editor, name="ci").token
    # When its revoke button is used / Then it is revoked and shown as such
    response = client.post(f"/account/tokens/{token.pk}/revoke/", follow=True)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert "revoked" in response.content.decode()


def test_tokens_page__someone_elses_token__not_revoked(client, editor, viewer):
    # Given an editor's token / When a viewer posts its revoke form / Then it stays active
    client.force_login(viewer)
    token = token_create(user=editor, name="ci").token
    client.post(f"/account/tokens/{token.pk}/revoke/")
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_console_header__logged_in__links_to_api_docs_and_tokens(client, viewer):
    # Given a logged-in user / When any page renders / Then the header links to the API docs and the tokens page
    client.force_login(viewer)
    html = client.get("/account/tokens/").content.decode()
    assert 'href="/api/schema/swagger-ui/"' in html
    assert 'href="/account/tokens/" aria-current="page"' in html
