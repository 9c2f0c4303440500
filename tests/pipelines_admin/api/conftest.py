"""API test helpers: clients authenticated by token, a released pipeline, a user without role."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from pipelines_admin.configs import services as config_services
from pipelines_admin.releases import services as release_services
from pipelines_admin.tokens.services import token_create
from tests.pipelines_admin.conftest import make_user


@pytest.fixture(autouse=True)
def fresh_throttle_counts():
    """Throttle counts live in the cache: every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Users are made by the dozen here: a fast hasher keeps the suite quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def roleless(django_user_model):
    return make_user(django_user_model, "nora")


@pytest.fixture
def token_client():
    """token_client(user) -> an APIClient sending a fresh token of `user` (None: anonymous)."""

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user, name='tests').secret}")
        return client

    return make


@pytest.fixture
def released(editor, small_pipeline_document, environments):
    """The small pipeline, version 1 live in development."""
    pipeline = config_services.pipeline_create(
        slug="onboarding", name="Onboarding", document=small_pipeline_document, author=editor
    )
    release_services.release_create(
        pipeline=pipeline,
        environment=environments["development"],
        version=pipeline.versions.get(),
        actor=editor,
    )
    return pipeline


def assert_error(response, status: int) -> dict:
    """The response is a failure in the one error shape with this status; its body."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:2000])
    body = response.json()
    assert set(body) == {"message", "extra"}, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["extra"], dict)
    return body


def etag(client, url: str) -> dict:
    """If-Match for a write to `url`, with the ETag a read gives now: of what the
    environment runs for an override or toggle, of the resource itself otherwise."""
    if "/pipelines/" in url and "/environments/" in url:  # an override or toggle: what the environment runs
        prefix, rest = url.split("/environments/", 1)
        url = f"{prefix}/environments/{rest.split('/', 1)[0]}/"
    response = client.get(url)
    return {"HTTP_IF_MATCH": response["ETag"]} if response.has_header("ETag") else {}
