"""The Django admin is no way around change control: a superuser posting to the admin's
change, add and delete pages of environments, releases, service bindings and change
requests changes nothing."""

import pytest
from django.test import Client
from django.urls import reverse

from pipelines_admin.changes.models import ChangeApproval, ChangeRequest
from pipelines_admin.changes.services import change_submit
from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.models import Environment, Release, ServiceBinding
from pipelines_admin.configs.services import BINDING_FIELDS, ENVIRONMENT_FIELDS

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(controlled, live_pipeline, publisher, environments):
    staging = environments["staging"]
    binding = config_services.service_binding_set(
        environment=staging,
        interface="KYCService",
        name="jumio",
        actor=publisher,
        reason="r",
        kind="simulated",
    )
    request = change_submit(
        kind="environment",
        environment=controlled,
        actor=publisher,
        reason="loosen it",
        change_requests_required=False,
    ).change_request
    return {
        "environment": controlled,
        "release": Release.objects.filter(environment=staging).get(),
        "binding": binding,
        "change_request": request,
    }


def state() -> tuple:
    return (
        list(Environment.objects.order_by("pk").values("name", *ENVIRONMENT_FIELDS)),
        list(Release.objects.order_by("pk").values("pk", "version_id", "effective_hash", "reason")),
        list(ServiceBinding.objects.order_by("pk").values("pk", *BINDING_FIELDS)),
        list(ChangeRequest.objects.order_by("pk").values("pk", "status", "payload", "effective_hash")),
        ChangeApproval.objects.count(),
    )


ATTEMPTS = {
    "environment": {
        "name": "production",
        "protected": "",
        "change_requests_required": "",
        "approvals_required": "1",
        "position": "300",
        "description": "loosened",
    },
    "release": {"reason": "edited", "override": "{}"},
    "binding": {"kind": "http", "url": "https://evil.example.com/", "latency_ms": "0"},
    "change_request": {
        "status": "applied",
        "reason": "edited",
        "payload": '{"change_requests_required": false}',
    },
}
MODELS = {
    "environment": "configs_environment",
    "release": "configs_release",
    "binding": "configs_servicebinding",
    "change_request": "changes_changerequest",
}


@pytest.mark.parametrize("what", list(MODELS))
@pytest.mark.parametrize("page", ["change", "add", "delete"])
def test_admin__superuser_posts__nothing_changes(what, page, world, superuser):
    client = Client()
    client.force_login(superuser)
    before = state()
    args = [] if page == "add" else [world[what].pk]
    url = reverse(f"admin:{MODELS[what]}_{page}", args=args)
    body = {"post": "yes"} if page == "delete" else ATTEMPTS[what]
    # When a superuser posts the page's form / Then refused, and nothing changed
    response = client.post(url, body)
    assert response.status_code in (403, 302), response.status_code
    assert state() == before
    assert world["environment"].__class__.objects.get(pk=world["environment"].pk).change_requests_required
