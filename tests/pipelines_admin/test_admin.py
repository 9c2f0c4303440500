"""Django's admin: superusers only; every model of the project registered, with lists to
filter and search; what a service governs is read-only (no add, change or delete) and
links to the console page that changes it; personal data only masked."""

import json

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from pipelines_admin.changes.services import change_request_approve, change_submit
from pipelines_admin.configs import services as config_services
from pipelines_admin.impact.services import impact_start
from pipelines_admin.releases import services as release_services
from pipelines_admin.reviews.services import review_decide
from pipelines_admin.runs.batches import batch_chunk_process, batch_create
from pipelines_admin.runs.metrics import recovery_count
from pipelines_admin.runs.models import SweepRecovery
from pipelines_admin.runs.services import run_execute, run_submit
from pipelines_admin.testcases.services import case_create, suite_run_now
from pipelines_admin.tokens.services import token_create
from tests.pipelines_admin.conftest import make_user
from tests.pipelines_admin.reviews.conftest import make_review_run

pytestmark = pytest.mark.django_db

APPLICANT = {
    "name": "Quentin Zabriskie",
    "email": "quentin.zabriskie@example.org",
    "ssn": "523-71-8846",
    "date_of_birth": "1979-11-23",
}
#: models people change in the admin: accounts and roles (Django's own, no service governs them)
CHANGED_HERE = {"auth.User", "auth.Group"}


def project_models():
    return [m for m in apps.get_models() if m.__module__.startswith("pipelines_admin.")]


@pytest.fixture
def everything(released, editor, publisher, superuser, environments):
    """One object or more of every model: a binding, a run, a batch, a test case, a suite
    run, an impact analysis, a token; the audit trail of it all; metric rollups."""
    dev = environments["development"]
    config_services.service_binding_set(
        environment=dev,
        interface="KYCService",
        name="jumio",
        actor=editor,
        kind="http",
        url="https://kyc.example.com/v1",
        timeout_seconds=2,
        secret_env="JUMIO_API_KEY",
    )
    run_execute(run_submit(pipeline=released, environment=dev, record=APPLICANT, actor=editor).pk)
    batch = batch_create(
        pipeline=released,
        environment=dev,
        filename="apps.jsonl",
        data=json.dumps(APPLICANT).encode(),
        actor=editor,
    )
    for chunk in batch.chunks.all():
        batch_chunk_process(chunk.pk)
    case_create(
        pipeline=released,
        name="an adult passes",
        record=APPLICANT,
        expected={"status": "passed"},
        actor=editor,
    )
    suite_run_now(pipeline=released, environment=dev, actor=editor)
    impact_start(
        pipeline=released,
        environment=dev,
        actor=editor,
        last=10,
        override={"stages": {"data_quality": {"fail_fast": False}}},
    )
    token_create(user=editor, name="ci job")
    # a rule timing out where the config alerts on timeouts, and a recovery the sweep counted
    release_services.override_set(
        pipeline=released,
        environment=dev,
        actor=editor,
        override={
            "execution_settings": {"performance_monitoring": {"alert_on_timeout": True}},
            "stages": {"business_rules": {"timeout_seconds": 0.000001}},
        },
    )
    run_execute(run_submit(pipeline=released, environment=dev, record=APPLICANT, actor=editor).pk)
    recovery_count(SweepRecovery.Kind.RUN, SweepRecovery.Action.REQUEUED)
    # a run in review, declined by a superuser
    review = make_review_run(released, dev, editor, record=APPLICANT)
    review_decide(run=review, actor=superuser, decision="decline", reason_code="risk_too_high")
    # a change request asking to override the gate, approved by a publisher
    request = change_submit(
        kind="override",
        pipeline=released,
        environment=dev,
        actor=editor,
        reason="a faster business-rule timeout",
        gate_override=True,
        override={"stages": {"business_rules": {"timeout_seconds": 5}}},
    ).change_request
    change_request_approve(change_request=request, actor=publisher)
    # a webhook (its secret never shown) with a delivery
    from pipelines_admin.webhooks import services as webhook_services

    created = webhook_services.subscription_create(
        actor=publisher, name="ops bot", url="https://hooks.example.com/a", events=["release.created"]
    )
    webhook_services.event_publish(event="release.created", pipeline=released, environment=dev, data={"n": 1})
    return created


def test_admin__every_model_of_every_app__registered(superuser):
    # Given the project's models / Then each is in the admin, with a list that says something
    registered = admin.site._registry
    missing = [m._meta.label for m in project_models() if m not in registered]
    assert missing == []
    for model in project_models():
        model_admin = registered[model]
        assert model_admin.list_display != ("__str__",), model._meta.label
        assert model_admin.search_fields or model_admin.list_filter, model._meta.label


def test_admin__superuser__every_list_and_object_page_opens_read_only_with_a_console_link(
    client, superuser, everything
):
    # Given a superuser and an object of every model
    client.force_login(superuser)
    index = client.get("/admin/").content.decode()
    problems = []
    for model in project_models():
        label = model._meta.label
        admin_name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        obj = model.objects.first()
        assert obj is not None, label
        # When its list and the object's page are opened
        changelist = client.get(reverse(f"{admin_name}_changelist"), {"q": "a"})
        page = client.get(reverse(f"{admin_name}_change", args=[obj.pk]))
        # Then both open (listed on the index too), read only, with a link to the console
        if reverse(f"{admin_name}_changelist") not in index:
            problems.append(f"{label}: not on the index")
        if changelist.status_code != 200 or page.status_code != 200:
            problems.append(f"{label}: {changelist.status_code} {page.status_code}")
            continue
        html = page.content.decode()
        if 'name="_save"' in html or "deletelink" in html:
            problems.append(f"{label}: offers to save or delete")
        if "In the console" not in html or 'href="/' not in html.split("In the console", 1)[1][:400]:
            problems.append(f"{label}: no console link")
    assert problems == []


def test_admin__read_only_models__add_change_delete_refused(client, superuser, everything):
    # Given a superuser / When they try to add, change or delete any project object through the admin
    client.force_login(superuser)
    refused = []
    for model in project_models():
        admin_name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        obj = model.objects.first()
        model_admin = admin.site._registry[model]
        request = type("Request", (), {"user": superuser})()
        assert not (
            model_admin.has_add_permission(request)
            or model_admin.has_change_permission(request, obj)
            or model_admin.has_delete_permission(request, obj)
        ), model._meta.label
        before = model.objects.count()
        add = client.post(reverse(f"{admin_name}_add"), {})
        delete = client.post(reverse(f"{admin_name}_delete", args=[obj.pk]), {"post": "yes"})
        bulk = client.post(
            reverse(f"{admin_name}_changelist"),
            {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
        )
        # Then each is refused, and nothing is gone
        refused.append(
            (
                model._meta.label,
                add.status_code,
                delete.status_code,
                model.objects.count() == before,
                bulk.status_code in (200, 302),
            )
        )
    assert [r for r in refused if r[1:] != (403, 403, True, True)] == []


def test_admin__users_and_groups__changed_here(superuser):
    # Given the admin / Then roles are given here: users and groups can be changed
    request = type("Request", (), {"user": superuser})()
    for label in CHANGED_HERE:
        model_admin = admin.site._registry[apps.get_model(label)]
        assert model_admin.has_change_permission(request), label


def test_admin__run_and_test_case__masked_input_only_never_decrypted(client, superuser, everything):
    # Given a run and a test case of an applicant / When a superuser opens them in the admin
    from pipelines_admin.runs.models import Run
    from pipelines_admin.testcases.models import TestCase

    client.force_login(superuser)
    run = Run.objects.filter(batch=None).first()
    pages = [
        client.get(reverse("admin:runs_run_change", args=[run.pk])).content.decode(),
        client.get(
            reverse("admin:testcases_testcase_change", args=[TestCase.objects.first().pk])
        ).content.decode(),
        client.get(
            reverse("admin:runs_batchchunk_change", args=[run.pipeline.batches.first().chunks.first().pk])
        ).content.decode(),
    ]
    # Then the masked input is shown, never the clear values nor the encrypted text
    assert "Input masked" in pages[0]
    for html in pages:
        for value in ("Quentin", "Zabriskie", "523-71-8846", "1979-11-23", "quentin.zabriskie"):
            assert value not in html
        assert run.input_encrypted[:40] not in html
        assert "encrypted" not in html.lower()


def test_admin__binding__secret_named_never_its_value(client, superuser, everything, monkeypatch):
    monkeypatch.setenv("JUMIO_API_KEY", "the-real-secret")
    client.force_login(superuser)
    # Given an HTTP binding naming its secret / When listed in the admin
    html = client.get(reverse("admin:configs_servicebinding_changelist")).content.decode()
    # Then its variable is shown, its value is not, and the console link opens its form
    assert "JUMIO_API_KEY" in html and "the-real-secret" not in html
    assert "/environments/development/?service=KYCService%3Ajumio#binding-form" in html


def test_admin__webhook__secret_never_shown(client, superuser, everything):
    # Given a webhook / When its admin page is opened by a superuser
    from pipelines_admin.webhooks.models import WebhookSubscription

    client.force_login(superuser)
    subscription = WebhookSubscription.objects.get()
    html = client.get(
        reverse("admin:webhooks_webhooksubscription_change", args=[subscription.pk])
    ).content.decode()
    # Then neither the secret nor its encrypted text is there
    assert "ops bot" in html
    assert everything.secret not in html and subscription.secret_encrypted[:40] not in html


@pytest.mark.parametrize("role", ["staff", "staff with every permission"])
def test_admin__staff_not_superuser__sent_to_login_sees_nothing(client, django_user_model, everything, role):
    # Given a staff account that is not a superuser (with every model permission, or none)
    user = make_user(django_user_model, "stan", "viewer", "editor", "publisher")
    user.is_staff = True
    user.save()
    if role == "staff with every permission":
        user.user_permissions.set(Permission.objects.all())
    client.force_login(user)
    # When they open the admin, a list, an object, or log in to the admin
    for path in [
        "/admin/",
        reverse("admin:configs_environment_changelist"),
        reverse("admin:auth_user_changelist"),
        reverse("admin:configs_environment_change", args=[1]),
    ]:
        response = client.get(path)
        # Then they are sent to the admin's login page
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), path
    login = client.get("/admin/login/").content.decode()
    assert "not authorized to access this page" in login
    assert "Environments" not in login and "Service bindings" not in login
