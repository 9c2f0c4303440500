"""Fixtures of the security tests: a user in each role (the suite's own), one without a
role, and `estate`: a small but complete installation (versions, releases in three
environments, a finished run, a finished and a queued batch, an API token) so every
page and every write has something real to act on."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache

from tests.pipelines_admin.conftest import (  # noqa: F401  (fixtures, re-exported)
    editor,
    environments,
    make_user,
    publisher,
    reviewer,
    small_pipeline_document,
    superuser,
    through_change_request,
    viewer,
)

ROLES = ("anonymous", "roleless", "viewer", "editor", "publisher", "reviewer", "superuser")

# An applicant whose every personal value is easy to find in a page, a log or a file.
PII_APPLICANT = {
    "name": "Quentin Zabriskie-Oyelaran",
    "email": "quentin.zabriskie@example.org",
    "phone": "+1 (415) 555-0199",
    "ssn": "523-71-8846",
    "date_of_birth": "1979-11-23",
    "address": "1742 Evergreen Terrace",
}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_cache():
    """API throttle counts live in the cache: every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def roleless(django_user_model):
    return make_user(django_user_model, "nora")


@pytest.fixture
def user_in_role(request):
    """user_in_role(role) -> the user of that role (None for anonymous)."""

    def get(role: str):
        if role == "anonymous":
            return None
        return request.getfixturevalue(role)

    return get


def finish_batch(batch):
    """Process every chunk of a batch here, as the worker would."""
    from pipelines_admin.runs.batches import batch_chunk_process

    for chunk_id in batch.chunks.values_list("pk", flat=True):
        batch_chunk_process(chunk_id)
    batch.refresh_from_db()
    return batch


@pytest.fixture
def estate(
    editor,
    publisher,
    viewer,
    reviewer,
    superuser,
    roleless,
    small_pipeline_document,
    environments,
    django_user_model,
):
    """onboarding: v1 then v2 released to development (so there is a release to roll back
    to), v1 in staging and production; a finished run; a finished batch and a queued one;
    an API token of the editor's; a test case, a queued suite run and a queued impact
    analysis; the KYC service bound in development and production; three runs in review:
    one free, one the reviewer holds, one the reviewer declined."""
    from pipelines_admin.changes.services import change_request_open
    from pipelines_admin.configs import services as config_services
    from pipelines_admin.releases import services as release_services
    from pipelines_admin.runs.batches import batch_create
    from pipelines_admin.runs.services import run_execute, run_submit
    from pipelines_admin.tokens.services import token_create

    dev, staging, prod = environments["development"], environments["staging"], environments["production"]
    pipeline = config_services.pipeline_create(
        slug="onboarding", name="Onboarding", document=small_pipeline_document, author=editor
    )
    v1 = pipeline.versions.get()
    first = release_services.release_create(pipeline=pipeline, environment=dev, version=v1, actor=editor)
    changed = json.loads(json.dumps(small_pipeline_document))
    changed["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = 21
    v2 = config_services.config_version_create(
        pipeline=pipeline, document=changed, base_version=v1, author=editor, message="minimum age 21"
    )
    release_services.release_create(pipeline=pipeline, environment=dev, version=v2, actor=editor)
    release_services.release_create(pipeline=pipeline, environment=staging, version=v1, actor=editor)
    # production is protected: its release gate wants a passing test suite, or an override
    # a second publisher approves
    production_first = through_change_request(
        kind="release",
        pipeline=pipeline,
        environment=prod,
        actor=publisher,
        reason="first release",
        version=1,
    )
    through_change_request(
        kind="release",
        pipeline=pipeline,
        environment=prod,
        actor=publisher,
        reason="minimum age 21",
        version=2,
    )
    run = run_submit(pipeline=pipeline, environment=dev, record=PII_APPLICANT, actor=editor)
    run_execute(run.pk)
    run.refresh_from_db()
    done = finish_batch(
        batch_create(
            pipeline=pipeline,
            environment=dev,
            filename="done.jsonl",
            data=json.dumps(PII_APPLICANT).encode(),
            actor=editor,
        )
    )
    queued = batch_create(
        pipeline=pipeline,
        environment=dev,
        filename="queued.jsonl",
        data=json.dumps(PII_APPLICANT).encode(),
        actor=editor,
    )
    token = token_create(user=editor, name="editor's script").token
    from pipelines_admin.impact.services import impact_start
    from pipelines_admin.testcases.services import case_create, suite_start

    case = case_create(
        pipeline=pipeline,
        name="an adult passes",
        record=PII_APPLICANT,
        actor=editor,
        expected={"status": "passed"},
    )
    suite = suite_start(pipeline=pipeline, environment=dev, actor=editor)
    report = impact_start(pipeline=pipeline, environment=dev, actor=editor, last=10, version=v1)
    for environment in (dev, prod):
        config_services.service_binding_set(
            environment=environment,
            interface="KYCService",
            name="jumio",
            actor=publisher,
            kind="simulated",
            reason="the vendor's sandbox",
        )
    from pipelines_admin.reviews.services import review_claim, review_decide
    from tests.pipelines_admin.reviews.conftest import make_review_run

    review_run, claimed_run, decided_run = (
        make_review_run(pipeline, dev, editor, record=PII_APPLICANT) for _ in range(3)
    )
    review_claim(run=claimed_run, actor=reviewer)
    review_decide(run=decided_run, actor=reviewer, decision="decline", reason_code="risk_too_high")
    from pipelines_admin.webhooks import services as webhook_services

    # webhooks: an active one with a delivery, and a disabled one
    webhook = webhook_services.subscription_create(
        actor=publisher, name="ops bot", url="https://hooks.example.com/ops", events=["release.created"]
    ).subscription
    webhook_services.event_publish(event="release.created", pipeline=pipeline, environment=dev, data={"v": 2})
    disabled_webhook = webhook_services.subscription_create(
        actor=publisher, name="old bot", url="https://hooks.example.com/old", events=["batch.finished"]
    ).subscription
    webhook_services.subscription_disable(subscription=disabled_webhook, actor=publisher, reason="retired")
    # a change request another publisher opened: v1 back to production, overriding the gate
    author = make_user(django_user_model, "paula", "viewer", "editor", "publisher")
    change_request = change_request_open(
        kind="release",
        pipeline=pipeline,
        environment=prod,
        actor=author,
        reason="back to v1",
        gate_override=True,
        payload={"version": 1},
    )
    return {
        "webhook": webhook,
        "disabled_webhook": disabled_webhook,
        "webhook_delivery": webhook.deliveries.get(),
        "change_request": change_request,
        "review_run": review_run,
        "claimed_review_run": claimed_run,
        "decided_review_run": decided_run,
        "pipeline": pipeline,
        "v1": v1,
        "v2": v2,
        "first_release": first,
        "production_first_release": production_first,
        "run": run,
        "done_batch": done,
        "queued_batch": queued,
        "token": token,
        "case": case,
        "suite": suite,
        "report": report,
    }
