"""Every API endpoint, every method it allows, every role (anonymous included): the
status each gets. The cases come from the URL configuration, so a new endpoint fails
here until it is added to EXPECTED."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone

from pipelines_admin.changes.services import change_request_approve, change_submit
from pipelines_admin.configs import services as config_services
from pipelines_admin.impact.services import impact_start
from pipelines_admin.releases import services as release_services
from pipelines_admin.reviews import services as review_services
from pipelines_admin.runs.batches import batch_create
from pipelines_admin.runs.services import run_execute, run_submit
from pipelines_admin.testcases.services import case_create, suite_run_now
from pipelines_admin.tokens.services import token_create
from pipelines_admin.webhooks import services as webhook_services
from tests.pipelines_admin.api.conftest import assert_error
from tests.pipelines_admin.conftest import SMALL_PIPELINE, make_user
from tests.pipelines_admin.reviews.conftest import make_review_run

ROLES = ("anonymous", "roleless", "viewer", "editor", "publisher", "reviewer", "superuser")
METHODS = ("get", "post", "put", "patch", "delete")


def read(ok=200):
    """Any console role may (viewer and up, reviewers too)."""
    return {"anonymous": 401, "roleless": 403, **{role: ok for role in ROLES[2:]}}


def write(ok):
    """Editors and up (the environment in these cases is development, not protected)."""
    return {
        "anonymous": 401,
        "roleless": 403,
        "viewer": 403,
        "editor": ok,
        "publisher": ok,
        "reviewer": 403,
        "superuser": ok,
    }


def decide(ok):
    """Reviewers and superusers: working the review queue."""
    return {
        "anonymous": 401,
        "roleless": 403,
        "viewer": 403,
        "editor": 403,
        "publisher": 403,
        "reviewer": ok,
        "superuser": ok,
    }


def manage(ok):
    """Publishers and superusers: managing webhooks."""
    return {
        "anonymous": 401,
        "roleless": 403,
        "viewer": 403,
        "editor": 403,
        "publisher": ok,
        "reviewer": 403,
        "superuser": ok,
    }


def approve(ok):
    """Publishers and superusers other than the author (the editor, in these cases)."""
    return {
        "anonymous": 401,
        "roleless": 403,
        "viewer": 403,
        "editor": 403,
        "publisher": ok,
        "reviewer": 403,
        "superuser": ok,
    }


def author(ok):
    """The change request's author (the editor); withdrawing: a superuser too."""
    return {
        "anonymous": 401,
        "roleless": 403,
        "viewer": 403,
        "editor": ok,
        "publisher": 403,
        "reviewer": 403,
        "superuser": 403,
    }


def own(ok):
    """Any authenticated user, role or not (their own tokens, the schema)."""
    return {"anonymous": 401, **{role: ok for role in ROLES[1:]}}


def everyone(status):
    return {role: status for role in ROLES}


EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    ("api:pipeline-list", "GET"): read(),
    ("api:pipeline-list", "POST"): write(201),
    ("api:pipeline-detail", "GET"): read(),
    ("api:version-list", "GET"): read(),
    ("api:version-list", "POST"): write(201),
    ("api:version-detail", "GET"): read(),
    ("api:version-diff", "GET"): read(),
    ("api:validate", "POST"): read(),
    ("api:environment-list", "GET"): read(),
    # environments are added by publishers (and superusers)
    ("api:environment-list", "POST"): {
        "anonymous": 401,
        "roleless": 403,
        "viewer": 403,
        "editor": 403,
        "publisher": 201,
        "reviewer": 403,
        "superuser": 201,
    },
    ("api:environment-detail", "GET"): read(),
    ("api:environment-detail", "PATCH"): write(200),
    ("api:binding-list", "GET"): read(),
    ("api:binding-list", "POST"): write(201),
    ("api:binding-detail", "GET"): read(),
    ("api:binding-detail", "PUT"): write(200),
    ("api:binding-detail", "DELETE"): write(204),
    ("api:pipeline-environment", "GET"): read(),
    ("api:override", "PUT"): write(200),
    ("api:stage-toggle", "POST"): write(200),
    ("api:rule-toggle", "POST"): write(200),
    ("api:release-list", "GET"): read(),
    ("api:release-list", "POST"): write(201),
    ("api:rollback", "POST"): write(201),
    ("api:environment-diff", "GET"): read(),
    ("api:release-gate", "GET"): read(),
    ("api:test-case-list", "GET"): read(),
    ("api:test-case-list", "POST"): write(201),
    ("api:test-case-detail", "GET"): read(),
    ("api:test-case-detail", "PUT"): write(200),
    ("api:test-case-detail", "PATCH"): write(200),
    ("api:test-case-detail", "DELETE"): write(204),
    ("api:suite-run-list", "GET"): read(),
    ("api:suite-run-list", "POST"): write(202),
    ("api:suite-run-detail", "GET"): read(),
    ("api:coverage", "GET"): read(),
    ("api:impact-report-list", "GET"): read(),
    ("api:impact-report-list", "POST"): write(202),
    ("api:impact-report-detail", "GET"): read(),
    ("api:impact-report-cancel", "POST"): write(200),
    ("api:run-list", "GET"): read(),
    ("api:run-list", "POST"): write(202),
    ("api:run-detail", "GET"): read(),
    ("api:run-save-as-test-case", "POST"): write(201),
    ("api:batch-list", "GET"): read(),
    ("api:batch-list", "POST"): write(202),
    ("api:batch-detail", "GET"): read(),
    ("api:batch-cancel", "POST"): write(200),
    ("api:batch-results-csv", "GET"): read(),
    ("api:batch-results-jsonl", "GET"): read(),
    ("api:audit-list", "GET"): read(),
    ("api:audit-export", "GET"): read(),
    ("api:dashboard-summary", "GET"): read(),
    ("api:review-list", "GET"): read(),
    ("api:review-summary", "GET"): read(),
    ("api:review-detail", "GET"): read(),
    ("api:review-claim", "POST"): decide(200),
    # the reviewer's own claim; a superuser releases anyone's
    ("api:review-release", "POST"): decide(200),
    ("api:review-reveal", "POST"): decide(200),
    ("api:review-decide", "POST"): decide(200),
    # writing a test case: editors and up
    ("api:review-save-as-test-case", "POST"): write(201),
    # webhooks: everyone reads them; publishers and superusers manage them
    ("api:webhook-list", "GET"): read(),
    ("api:webhook-list", "POST"): manage(201),
    ("api:webhook-detail", "GET"): read(),
    ("api:webhook-detail", "PATCH"): manage(200),
    ("api:webhook-detail", "DELETE"): manage(204),
    ("api:webhook-rotate-secret", "POST"): manage(200),
    ("api:webhook-enable", "POST"): manage(200),
    ("api:webhook-disable", "POST"): manage(200),
    ("api:webhook-delivery-list", "GET"): read(),
    ("api:webhook-delivery-resend", "POST"): manage(202),
    # change requests: opened by whoever may change the environment (development here)
    ("api:change-request-list", "GET"): read(),
    ("api:change-request-list", "POST"): write(201),
    ("api:change-request-detail", "GET"): read(),
    ("api:change-request-revise", "POST"): author(200),
    ("api:change-request-approve", "POST"): approve(200),
    ("api:change-request-reject", "POST"): approve(200),
    ("api:change-request-withdraw", "POST"): {**author(200), "superuser": 200},
    # an approved request: whoever may change the environment schedules or applies it
    ("api:change-request-schedule", "POST"): write(200),
    ("api:change-request-apply", "POST"): write(200),
    # superusers only
    ("api:change-request-break-glass", "POST"): {
        "anonymous": 401,
        **{role: 403 for role in ROLES[1:-1]},
        "superuser": 200,
    },
    ("api:token-list", "GET"): own(200),
    # a token cannot create tokens (HTTP Basic or a session can: see test_tokens_api)
    ("api:token-list", "POST"): {"anonymous": 401, **{role: 403 for role in ROLES[1:]}},
    ("api:token-detail", "DELETE"): own(204),
    ("api:schema", "GET"): own(200),
    ("api:swagger-ui", "GET"): {"anonymous": 302, **{role: 200 for role in ROLES[1:]}},
    ("api:redoc", "GET"): {"anonymous": 302, **{role: 200 for role in ROLES[1:]}},
    **{("api:not-found", m.upper()): everyone(404) for m in METHODS},
}

CHANGED = copy.deepcopy(SMALL_PIPELINE)
CHANGED["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = 21
APPLICANT = {"name": "Maria Garcia", "email": "maria@example.com", "date_of_birth": "1990-04-12"}

BODIES = {
    ("api:pipeline-list", "POST"): {"slug": "second", "name": "Second", "document": SMALL_PIPELINE},
    ("api:version-list", "POST"): {"document": CHANGED, "base_version": 1, "message": "minimum age 21"},
    ("api:validate", "POST"): {"document": SMALL_PIPELINE},
    ("api:environment-list", "POST"): {"name": "uat", "position": 25, "description": "User acceptance"},
    ("api:environment-detail", "PATCH"): {"description": "Where changes are tried first, by the team"},
    ("api:binding-list", "POST"): {
        "interface": "SanctionsService",
        "name": "worldcheck",
        "kind": "http",
        "url": "https://sanctions.example.com/v2",
        "secret_env": "WORLDCHECK_KEY",
    },
    ("api:binding-detail", "PUT"): {"kind": "simulated", "latency_ms": 25, "failure_rate": 0.1},
    ("api:override", "PUT"): {
        "override": {"stages": {"data_quality": {"timeout_seconds": 20}}},
        "reason": "slow",
    },
    ("api:stage-toggle", "POST"): {"enabled": False, "reason": "maintenance"},
    ("api:rule-toggle", "POST"): {"enabled": False, "reason": "maintenance"},
    ("api:release-list", "POST"): {"version": 1, "reason": "back to plain", "override": {}},
    ("api:run-list", "POST"): {"pipeline": "onboarding", "environment": "development", "record": APPLICANT},
    ("api:token-list", "POST"): {"name": "another"},
    ("api:test-case-list", "POST"): {
        "name": "another adult",
        "input": APPLICANT,
        "expected": {"status": "passed"},
    },
    ("api:test-case-detail", "PUT"): {"name": "adult", "input": APPLICANT, "expected": {"status": "passed"}},
    ("api:test-case-detail", "PATCH"): {"description": "renamed"},
    ("api:suite-run-list", "POST"): {"environment": "development"},
    ("api:impact-report-list", "POST"): {"environment": "development", "candidate_override": {}},
    ("api:run-save-as-test-case", "POST"): {"name": "saved"},
    ("api:review-reveal", "POST"): {"field": "name", "reason": "compare with the watch list"},
    ("api:review-decide", "POST"): {"decision": "approve", "reason_code": "false_positive", "note": "ok"},
    ("api:review-save-as-test-case", "POST"): {"expect": "review"},
    ("api:webhook-list", "POST"): {
        "name": "ci bot",
        "url": "https://hooks.example.com/ci",
        "events": ["batch.finished"],
    },
    ("api:webhook-detail", "PATCH"): {"name": "renamed", "environment": None},
    ("api:webhook-disable", "POST"): {"reason": "maintenance"},
    ("api:change-request-list", "POST"): {
        "kind": "override",
        "pipeline": "onboarding",
        "environment": "development",
        "reason": "a slower vendor, untested",
        "gate_override": True,
        "payload": {"override": {"stages": {"data_quality": {"timeout_seconds": 25}}}},
    },
    ("api:change-request-revise", "POST"): {
        "payload": {"override": {"stages": {"data_quality": {"timeout_seconds": 35}}}},
        "reason": "slower still",
    },
    ("api:change-request-approve", "POST"): {"comment": "fine"},
    ("api:change-request-reject", "POST"): {"comment": "not now"},
    ("api:change-request-withdraw", "POST"): {"reason": "not needed"},
    ("api:change-request-break-glass", "POST"): {"reason": "the vendor is down"},
}


def schedule_body() -> dict:
    return {"when": (timezone.now() + timedelta(hours=2)).isoformat()}


def api_routes() -> list[tuple[str, str, dict, type]]:
    """(namespaced name, route, converters, view class) of every URL pattern under /api/."""
    found = []

    def walk(patterns, prefix: str, namespace: str | None, converters: dict):
        for pattern in patterns:
            merged = {**converters, **getattr(pattern.pattern, "converters", {})}
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route, pattern.namespace or namespace, merged)
            elif route.startswith("api/"):
                found.append((f"{namespace}:{pattern.name}", route, merged, pattern.callback.cls))

    walk(get_resolver().url_patterns, "", None, {})
    return found


def cases() -> list[tuple[str, str, str]]:
    result = []
    for name, _route, _converters, view in api_routes():
        for method in METHODS:
            if hasattr(view, method):
                result.extend((name, method.upper(), role) for role in ROLES)
    return result


def test_permission_table__url_configuration__every_endpoint_and_method_listed():
    # Given the API's URL configuration / When compared with the table
    routed = {(name, method) for name, method, _ in cases()}
    # Then every endpoint and method has its expectations, and the table names nothing that is gone
    assert routed - set(EXPECTED) == set(), "add these (url name, method) to EXPECTED"
    assert set(EXPECTED) - routed == set(), "these (url name, method) no longer exist"
    assert all(set(row) == set(ROLES) for row in EXPECTED.values())


@pytest.fixture
def world(editor, publisher, reviewer, small_pipeline_document, environments):
    """onboarding: v1 live in development (with an override, after a first release) and
    in staging; one finished run and one queued batch; a test case, a finished suite run
    and a queued impact report (v1 without the override against development); the KYC
    service bound in development; three runs in review: one free, one the reviewer holds,
    one the reviewer declined."""
    dev = environments["development"]
    config_services.service_binding_set(
        environment=dev, interface="KYCService", name="jumio", actor=editor, kind="simulated", latency_ms=10
    )
    pipeline = config_services.pipeline_create(
        slug="onboarding", name="Onboarding", document=small_pipeline_document, author=editor
    )
    first = release_services.release_create(
        pipeline=pipeline, environment=dev, version=pipeline.versions.get(), actor=editor
    )
    release_services.override_set(
        pipeline=pipeline,
        environment=dev,
        actor=editor,
        override={"stages": {"data_quality": {"timeout_seconds": 15}}},
    )
    release_services.release_create(
        pipeline=pipeline, environment=environments["staging"], version=pipeline.versions.get(), actor=editor
    )
    run = run_execute(run_submit(pipeline=pipeline, environment=dev, record=APPLICANT, actor=editor).pk)
    batch = batch_create(
        pipeline=pipeline,
        environment=dev,
        filename="apps.jsonl",
        data=json.dumps(APPLICANT).encode(),
        actor=editor,
    )
    case = case_create(
        pipeline=pipeline, name="adult", record=APPLICANT, expected={"status": "passed"}, actor=editor
    )
    suite_run = suite_run_now(pipeline=pipeline, environment=dev, actor=editor)
    report = impact_start(pipeline=pipeline, environment=dev, actor=editor, last=10, override={})
    review_run, claimed_run, decided_run = (
        make_review_run(pipeline, dev, editor, record=APPLICANT) for _ in range(3)
    )
    review_services.review_claim(run=claimed_run, actor=reviewer)
    review_services.review_decide(
        run=decided_run, actor=reviewer, decision="decline", reason_code="risk_too_high"
    )
    webhook = webhook_services.subscription_create(
        actor=publisher, name="ops bot", url="https://hooks.example.com/ops", events=["release.created"]
    ).subscription
    webhook_services.event_publish(event="release.created", pipeline=pipeline, environment=dev, data={})
    # two change requests of the editor's, asking to override the gate in development: one open,
    # one approved by the publisher
    change_request, approved_request = (
        change_submit(
            kind="override",
            pipeline=pipeline,
            environment=dev,
            actor=editor,
            reason="untested timeout",
            gate_override=True,
            override={"stages": {"data_quality": {"timeout_seconds": seconds}}},
        ).change_request
        for seconds in (30, 40)
    )
    change_request_approve(change_request=approved_request, actor=publisher)
    return {
        "webhook": webhook,
        "webhook_delivery": webhook.deliveries.get(),
        "change_request": change_request,
        "approved_request": approved_request,
        "review_run": review_run,
        "claimed_review_run": claimed_run,
        "decided_review_run": decided_run,
        "first_release": first,
        "run": run,
        "batch": batch,
        "case": case,
        "suite_run": suite_run,
        "report": report,
    }


#: the run each review endpoint acts on
REVIEW_RUNS = {
    "api:review-release": "claimed_review_run",
    "api:review-save-as-test-case": "decided_review_run",
}


def sample_kwargs(converters: dict, world: dict, token, name: str = "") -> dict:
    run = REVIEW_RUNS.get(name, "review_run") if name.startswith("api:review-") else "run"
    samples = {
        "slug": "onboarding",
        "env": "development",
        "stage": "business_rules",
        "rule": "email_format",
        "run_id": world[run].pk,
        "batch_id": world["batch"].pk,
        "token_id": token.pk if token else None,
        "service": "KYCService:jumio",
    }
    ready = name in ("api:change-request-schedule", "api:change-request-apply")
    ids = {
        "request_id": world["approved_request" if ready else "change_request"].pk,
        "case_id": world["case"].pk,
        "suite_run_id": world["suite_run"].pk,
        "report_id": world["report"].pk,
        "webhook_id": world["webhook"].pk,
        "delivery_id": world["webhook_delivery"].pk,
    }
    kwargs = {}
    for name, converter in converters.items():
        if name in ids:
            kwargs[name] = ids[name]
        elif type(converter).__name__ == "IntConverter":
            kwargs[name] = 1
        elif name == "other":
            kwargs[name] = "staging"
        elif name == "stage" and "rule" in converters:
            kwargs[name] = "data_quality"
        else:
            kwargs[name] = samples[name]
    return kwargs


ROUTES = {name: (converters, view) for name, _route, converters, view in api_routes()}


def if_match(name: str, method: str, kwargs: dict) -> dict:
    """What a client that read the resource first sends with a change to it."""
    from pipelines_admin.configs.models import Environment, Pipeline, ServiceBinding
    from pipelines_admin.configs.selectors import environment_revision, release_live, settings_revision
    from pipelines_admin.testcases.models import TestCase
    from pipelines_admin.testcases.services import case_revision

    if method in ("GET", "HEAD"):
        return {}
    if name in ("api:override", "api:stage-toggle", "api:rule-toggle"):
        live = release_live(
            Pipeline.objects.get(slug=kwargs["slug"]), Environment.objects.get(name=kwargs["env"])
        )
        return {"HTTP_IF_MATCH": f'"{environment_revision(live)}"'}
    if name == "api:test-case-detail":
        return {"HTTP_IF_MATCH": f'"{case_revision(TestCase.objects.get(pk=kwargs["case_id"]))}"'}
    if name == "api:environment-detail":
        return {"HTTP_IF_MATCH": f'"{settings_revision(Environment.objects.get(name=kwargs["env"]))}"'}
    if name == "api:binding-detail":
        interface, service_name = kwargs["service"].split(":")
        binding = ServiceBinding.objects.filter(
            environment__name=kwargs["env"], interface=interface, name=service_name
        ).first()
        return {"HTTP_IF_MATCH": f'"{settings_revision(binding)}"'} if binding else {}
    return {}


@pytest.mark.django_db
@pytest.mark.parametrize("name,method,role", cases())
def test_api_endpoint__each_role__expected_status(name, method, role, world, request, django_user_model):
    # Given a caller in this role, authenticated by a token of theirs (or nobody)
    from rest_framework.test import APIClient

    if role == "anonymous":
        user = None
    elif role == "roleless":
        user = make_user(django_user_model, "nora")
    else:
        user = request.getfixturevalue(role)
    client = APIClient()
    token = None
    if user is not None:
        created = token_create(user=user, name="matrix")
        token = created.token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.secret}")
    else:
        token = token_create(user=request.getfixturevalue("editor"), name="someone else's").token
    converters, _view = ROUTES[name]
    kwargs = sample_kwargs(converters, world, token, name)
    path = reverse(name, kwargs=kwargs)
    expected = EXPECTED[(name, method)][role]
    # When it calls the endpoint with a valid request
    if (name, method) == ("api:batch-list", "POST"):
        upload = SimpleUploadedFile("apps.jsonl", json.dumps(APPLICANT).encode(), "application/x-ndjson")
        response = client.post(
            path, {"pipeline": "onboarding", "environment": "development", "file": upload}, format="multipart"
        )
    else:
        body = BODIES.get((name, method))
        if name == "api:rollback":
            body = {"release_id": world["first_release"].pk, "reason": "undo the override"}
        if name == "api:change-request-schedule":
            body = schedule_body()
        response = client.generic(
            method,
            path,
            json.dumps(body) if body is not None else "",
            content_type="application/json",
            **if_match(name, method, kwargs),
        )
    # Then it gets the status its role allows, failures in the error shape
    assert response.status_code == expected, (
        path,
        response.status_code,
        getattr(response, "content", b"")[:1000],
    )
    if expected >= 400:
        assert_error(response, expected)
