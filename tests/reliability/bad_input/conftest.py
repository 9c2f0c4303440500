"""A console with something on every page (a released pipeline, a finished run, a queued
batch, an API token), and a superuser to send hostile input as."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.pipelines_admin.api.conftest import token_client  # noqa: F401  (re-exported fixture)
from tests.pipelines_admin.conftest import make_user

APPLICANT = {"name": "Maria Garcia", "email": "maria.garcia@example.com", "date_of_birth": "1990-04-12"}


@pytest.fixture(autouse=True)
def fresh_cache_and_fast_hashing(settings):
    """Throttle counts live in the cache; users are made with a fast hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def admin_user(django_user_model):
    return make_user(django_user_model, "ada", "viewer", "editor", "publisher", superuser=True)


@pytest.fixture
def populated(released, admin_user, editor, environments):
    """The small pipeline live in development (two releases) and staging, a finished
    run, a queued batch of three, an API token, and a service bound in development:
    something on every page to act on."""
    from pipelines_admin.configs import services as config_services
    from pipelines_admin.releases import services as release_services
    from pipelines_admin.runs import batches, services
    from pipelines_admin.tokens.services import token_create

    version = released.versions.get()
    release_services.release_create(
        pipeline=released,
        environment=environments["staging"],
        version=version,
        actor=admin_user,
        reason="staging copy",
    )
    release_services.override_set(
        pipeline=released,
        environment=environments["development"],  # a release to roll back
        override={"stages": {"business_rules": {"enabled": False}}},
        actor=admin_user,
        reason="business rules off",
    )
    run = services.run_submit(
        pipeline=released, environment=environments["development"], record=APPLICANT, actor=admin_user
    )
    services.run_execute(run.pk)
    batch = batches.batch_create(
        pipeline=released,
        environment=environments["development"],
        filename="three.jsonl",
        data=b"\n".join([b'{"name": "A", "email": "a@example.com"}'] * 3),
        actor=admin_user,
    )
    token = token_create(user=admin_user, name="fuzzing")
    config_services.service_binding_set(
        environment=environments["development"],
        interface="KYCService",
        name="jumio",
        actor=admin_user,
        kind="simulated",
        latency_ms=5,
    )
    return {"pipeline": released, "version": version, "run": run, "batch": batch, "token": token}
