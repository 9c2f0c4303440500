"""The Environments area of the console: the list (and a new environment, for
publishers), an environment's page (settings, pipelines live there, the services they
call, bindings), binding a service, changing and removing a binding; errors beside the
fields, refusals that list each pipeline's problems and change nothing."""

import copy
import html
import re

import pytest
from django.urls import reverse

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.configs import services
from pipelines_admin.configs.models import Environment, ServiceBinding
from pipelines_admin.configs.selectors import settings_revision as revision
from pipelines_admin.releases import services as release_services

pytestmark = pytest.mark.django_db

HTTP_KYC = {
    "interface": "KYCService",
    "name": "jumio",
    "kind": "http",
    "url": "https://kyc.example.com/v1",
    "timeout_seconds": "1.5",
    "secret_env": "JUMIO_API_KEY",
    "latency_ms": "0",
    "failure_rate": "0",
    "reason": "",
}


@pytest.fixture
def kyc_pipeline(editor, small_pipeline_document, environments):
    """onboarding live in development, its KYC rule (2 s time limit) calling service:KYCService:jumio."""
    document = copy.deepcopy(small_pipeline_document)
    document["stages"]["compliance"] = {
        "rules": {
            "kyc": {
                "class": "KYCIdentityRule",
                "params": {"kyc_service": "service:KYCService:jumio"},
                "timeout_seconds": 2,
            }
        }
    }
    pipeline = services.pipeline_create(
        slug="onboarding", name="Onboarding", document=document, author=editor
    )
    release_services.release_create(
        pipeline=pipeline,
        environment=environments["development"],
        version=pipeline.versions.get(),
        actor=editor,
    )
    return pipeline


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def error_beside(response, field: str) -> str:
    """The errors shown with the field `field` (in its own block, beside its label and control)."""
    page = response.content.decode()
    block = re.search(
        rf'<div class="field[^"]*">(?:(?!</div>).)*name="{field}"(?:(?!</div>).)*</div>', page, flags=re.S
    )
    assert block, f"no field block around {field}"
    errors = re.findall(r'<span class="error" role="alert">([^<]*)</span>', block.group(0))
    return html.unescape(" ".join(errors))


def test_environments_page__viewer__every_environment_and_no_create_form(client, viewer, kyc_pipeline):
    # Given a viewer / When they open the Environments page from the header
    client.force_login(viewer)
    response = client.get(reverse("console:environments"))
    page = text(response)
    # Then each environment is listed in order with what runs there, and creating one needs a publisher
    assert response.status_code == 200
    rows = re.findall(r'<th scope="row"><a href="/environments/([a-z-]+)/">', response.content.decode())
    assert rows == ["development", "staging", "production"]
    assert "Where changes are tried first." in page
    assert (
        'href="/environments/"' in response.content.decode()
        and 'aria-current="page">Environments' in response.content.decode()
    )
    assert "Creating an environment needs the publisher role" in page
    assert 'action="/environments/"' not in response.content.decode()


def test_environments_page__publisher_creates__redirected_to_its_page_audited(
    client, publisher, environments
):
    # Given a publisher / When they create an environment
    client.force_login(publisher)
    response = client.post(
        reverse("console:environments"),
        {"name": "uat", "position": "25", "description": "User acceptance", "protected": "on"},
    )
    # Then they land on its page, which says nothing runs there and nothing is bound yet
    assert response.status_code == 302 and response["Location"] == "/environments/uat/"
    page = text(client.get("/environments/uat/"))
    assert "Environment uat created" in page
    assert "No pipeline is released to uat yet" in page and "No service is bound in uat" in page
    assert Environment.objects.get(name="uat").protected
    assert AuditEvent.objects.filter(action="environment.created", environment="uat").exists()


@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"name": "UAT", "position": "1"}, "name", "Lower-case letters"),
        ({"name": "staging", "position": "1"}, "name", "already exists"),
        ({"name": "uat", "position": "-4"}, "position", "greater than or equal to 0"),
    ],
)
def test_environments_page__invalid_new_environment__error_beside_the_field_nothing_stored(
    client, publisher, environments, data, field, message
):
    # Given a publisher / When they create an environment with one bad field
    client.force_login(publisher)
    response = client.post(reverse("console:environments"), data)
    # Then the form comes back with the error beside that field, and nothing is stored
    assert response.status_code in (400, 409)
    assert message in error_beside(response, field)
    assert Environment.objects.count() == 3


def test_environments_page__editor_posts_anyway__403_nothing_stored(client, editor, environments):
    # Given an editor (no form is offered) / When they post one anyway / Then refused, nothing stored
    client.force_login(editor)
    response = client.post(reverse("console:environments"), {"name": "sandbox", "position": "1"})
    assert response.status_code == 403 and "publisher" in text(response)
    assert Environment.objects.count() == 3


def test_environment_page__released_pipeline__services_it_calls_with_bind_links(client, editor, kyc_pipeline):
    # Given onboarding live in development, calling the KYC vendor / When an editor opens development
    client.force_login(editor)
    response = client.get(reverse("console:environment", kwargs={"env": "development"}))
    page = text(response)
    # Then the pipeline, the service and the rule calling it with its time limit, unbound, with a link to bind it
    assert "Onboarding" in page and "v1" in page
    assert "service:KYCService:jumio" in page and "compliance/kyc · gives up after 2 s" in page
    assert "simulated adapter (no binding)" in page
    assert "?service=KYCService%3Ajumio#binding-form" in response.content.decode()
    # When the link is followed / Then the form is filled in with that service
    form = client.get(
        reverse("console:environment", kwargs={"env": "development"}), {"service": "KYCService:jumio"}
    ).content.decode()
    assert '<option value="KYCService" selected>' in form and 'name="name" value="jumio"' in form
    # and the name field offers the names the pipelines call
    assert '<datalist id="called-names"><option value="jumio"></option></datalist>' in form


def test_binding_set__http_with_secret_name__bound_shown_by_name_never_by_value(
    client, editor, kyc_pipeline, monkeypatch
):
    monkeypatch.setenv("JUMIO_API_KEY", "the-real-secret")
    client.force_login(editor)
    # Given development / When an editor binds KYC to the vendor's HTTP endpoint with the secret's variable
    response = client.post(reverse("console:binding-set", kwargs={"env": "development"}), HTTP_KYC)
    # Then it is stored and shown, the variable named, its value nowhere
    assert response.status_code == 302 and response["Location"] == "/environments/development/#bindings"
    binding = ServiceBinding.objects.get()
    assert (binding.kind, binding.url, binding.secret_env) == (
        "http",
        "https://kyc.example.com/v1",
        "JUMIO_API_KEY",
    )
    page = client.get("/environments/development/").content.decode()
    assert "now calls https://kyc.example.com/v1, its secret from JUMIO_API_KEY" in text_of(page)
    assert "secret from <code>JUMIO_API_KEY</code>" in page and "the-real-secret" not in page
    # and the pipeline's own environment page shows it, linking to the environment
    pipeline_page = client.get("/pipelines/onboarding/environments/development/").content.decode()
    assert "KYCService:jumio · HTTP JSON endpoint" in pipeline_page
    assert 'href="/environments/development/"' in pipeline_page


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_binding_set__would_break_the_live_config__problems_listed_nothing_stored(
    client, editor, kyc_pipeline
):
    client.force_login(editor)
    before = AuditEvent.objects.count()
    # Given the KYC rule giving up after 2 s / When the vendor is bound with a 10 s timeout
    response = client.post(
        reverse("console:binding-set", kwargs={"env": "development"}), {**HTTP_KYC, "timeout_seconds": "10"}
    )
    # Then the page says nothing changed and lists the pipeline with the problem's path
    assert response.status_code == 400
    page = text(response)
    assert "Nothing was changed." in page
    assert "Onboarding v1 /stages/compliance/rules/kyc/params/kyc_service" in page
    assert "gives up after 2 s" in page
    # and keeps what was typed, storing nothing
    assert 'value="10.0"' in response.content.decode() or 'value="10"' in response.content.decode()
    assert not ServiceBinding.objects.exists() and AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    "change,field,message",
    [
        ({"url": "ftp://kyc.example.com/"}, "url", "http:// or https://"),
        ({"url": "https://me:pw@kyc.example.com/"}, "url", "credentials"),
        ({"url": ""}, "url", "required for HTTP bindings"),
        ({"secret_env": "jumio key"}, "secret_env", "environment variable name"),
        ({"secret_env": "SECRET_KEY"}, "secret_env", "console's own settings"),
        ({"timeout_seconds": "0"}, "timeout_seconds", "greater than or equal to 0.01"),
        ({"name": "not a name!"}, "name", "Letters, digits"),
    ],
)
def test_binding_set__invalid_field__error_beside_it_nothing_stored(
    client, editor, environments, change, field, message
):
    # Given an editor / When a binding with one bad field is saved
    client.force_login(editor)
    response = client.post(
        reverse("console:binding-set", kwargs={"env": "development"}), {**HTTP_KYC, **change}
    )
    # Then the error is beside that field, and nothing is stored
    assert response.status_code == 400
    assert message in error_beside(response, field)
    assert not ServiceBinding.objects.exists()


def test_binding_change_and_remove__editor__form_prefilled_then_removed(client, editor, environments):
    dev = environments["development"]
    services.service_binding_set(
        environment=dev, interface="KYCService", name="jumio", actor=editor, kind="simulated", latency_ms=40
    )
    client.force_login(editor)
    # Given a simulated binding / When its Change link is followed / Then the form holds its settings
    form = client.get("/environments/development/", {"service": "KYCService:jumio"}).content.decode()
    assert "Change the binding of <code>service:KYCService:jumio</code>" in form
    assert 'name="latency_ms" value="40"' in form and 'value="simulated"' in form
    # When it is removed / Then gone, the page says the simulated adapter serves it
    response = client.post(
        reverse("console:binding-remove", kwargs={"env": "development", "service": "KYCService:jumio"}),
        {"reason": "vendor contract ended", "base_revision": revision(ServiceBinding.objects.get())},
    )
    assert response.status_code == 302
    assert not ServiceBinding.objects.exists()
    assert "its rules call the simulated adapter now" in text(client.get("/environments/development/"))
    assert AuditEvent.objects.get(action="service_binding.removed").reason == "vendor contract ended"


def test_binding_remove__protected_without_reason__error_in_its_row_kept(client, publisher, environments):
    production = environments["production"]
    services.service_binding_set(
        environment=production,
        interface="KYCService",
        name="jumio",
        actor=publisher,
        kind="simulated",
        reason="test vendor",
    )
    client.force_login(publisher)
    # Given a binding in production / When removed without a reason
    response = client.post(
        reverse("console:binding-remove", kwargs={"env": "production", "service": "KYCService:jumio"}),
        {"reason": "", "base_revision": revision(ServiceBinding.objects.get())},
    )
    # Then refused, the reason asked for in the open remove form, the binding kept
    assert response.status_code == 400
    assert "production is protected: give a reason" in text(response)
    assert '<details class="popover" open>' in response.content.decode()
    assert ServiceBinding.objects.count() == 1


def test_environment_page__viewer__read_only_with_role_notes(client, viewer, environments):
    # Given a viewer / When they open production
    client.force_login(viewer)
    response = client.get("/environments/production/")
    page = text(response)
    # Then its settings read only, and notes saying who may change it, no forms but the header's
    assert "Changing production needs the publisher role" in page
    assert "Binding services in production needs the publisher role" in page
    assert 'action="/environments/production/bindings/"' not in response.content.decode()


def test_environment_settings__editor_on_staging__saved_and_cannot_protect(client, editor, environments):
    client.force_login(editor)
    # Given staging / When an editor changes its order and description
    response = client.post(
        "/environments/staging/",
        {
            "position": "15",
            "description": "Release candidates",
            "protected": "",
            "reason": "",
            "base_revision": revision(environments["staging"]),
        },
    )
    # Then saved
    assert response.status_code == 302
    staging = Environment.objects.get(name="staging")
    assert (staging.position, staging.description) == (15, "Release candidates")
    # When they tick protected (no checkbox is offered; posted anyway) / Then refused, unprotected
    staging = Environment.objects.get(name="staging")
    response = client.post(
        "/environments/staging/",
        {
            "position": "15",
            "description": "x",
            "protected": "on",
            "reason": "lock",
            "base_revision": revision(staging),
        },
    )
    assert response.status_code == 403 and not Environment.objects.get(name="staging").protected


def test_environment_settings__publisher_unprotects_without_reason__error_beside_reason(
    client, publisher, environments
):
    client.force_login(publisher)
    # Given production / When a publisher unticks protected without a reason
    response = client.post(
        "/environments/production/",
        {
            "position": "30",
            "description": "Live",
            "reason": "",
            "base_revision": revision(environments["production"]),
        },
    )
    # Then the reason field says why, production stays protected
    assert response.status_code == 400
    assert "required" in error_beside(response, "reason")
    assert Environment.objects.get(name="production").protected


def test_environment_page__unknown__404(client, viewer, environments):
    client.force_login(viewer)
    assert client.get("/environments/nowhere/").status_code == 404


def test_environment_settings__changed_by_someone_else_meanwhile__not_saved_what_it_is_now_shown(
    client, editor, publisher, environments
):
    # Given an editor who opened staging's page, then a colleague who moved it
    client.force_login(editor)
    page = client.get("/environments/staging/").content.decode()
    seen = re.search(r'name="base_revision" value="([^"]*)"', page).group(1)
    services.environment_update(
        environment=environments["staging"],
        actor=publisher,
        protected=False,
        position=5,
        description="Release candidates",
    )
    # When she saves her description from the page she opened
    response = client.post(
        "/environments/staging/",
        {"position": "20", "description": "mine", "protected": "", "reason": "", "base_revision": seen},
    )
    # Then nothing is saved; the page says what it is now and keeps her values, based on it now
    assert response.status_code == 412
    assert Environment.objects.get(name="staging").description == "Release candidates"
    assert "changed while you were editing" in text(response) and "It now has: order 5" in text(response)
    assert 'value="mine"' in response.content.decode()
    now = re.search(r'name="base_revision" value="([^"]*)"', response.content.decode()).group(1)
    assert now == revision(Environment.objects.get(name="staging"))


def test_binding_set__new_binding_made_by_someone_else_meanwhile__not_overwritten(
    client, editor, publisher, environments
):
    # Given an editor binding KYC for the first time while a colleague just bound it
    client.force_login(editor)
    services.service_binding_set(
        environment=environments["development"],
        interface="KYCService",
        name="jumio",
        actor=publisher,
        kind="simulated",
        latency_ms=40,
    )
    # When she saves hers (the form of a new binding carries no revision)
    response = client.post(
        reverse("console:binding-set", kwargs={"env": "development"}), {**HTTP_KYC, "base_revision": ""}
    )
    # Then the colleague's binding stays and she is told it exists
    assert response.status_code == 409 and "already binds service:KYCService:jumio" in text(response)
    assert ServiceBinding.objects.get().latency_ms == 40


def test_binding_set__http_with_retries__saved_shown_and_counted_against_the_rule_time_limit(
    client, editor, kyc_pipeline
):
    client.force_login(editor)
    # Given the KYC rule giving up after 2 s / When the vendor is bound with a 0.5 s timeout and 1 retry
    # (at most 0.5 + 0.2 + 0.5 = 1.2 s)
    response = client.post(
        reverse("console:binding-set", kwargs={"env": "development"}),
        {**HTTP_KYC, "timeout_seconds": "0.5", "retries": "1"},
    )
    # Then it is saved, the engine's spec carries it, and the page says so
    assert response.status_code == 302
    binding = ServiceBinding.objects.get()
    assert binding.retries == 1
    from pipelines_admin.configs.engine import binding_spec

    assert binding_spec(binding.environment)["bindings"]["KYCService:jumio"]["retries"] == 1
    assert "1 retry" in text(client.get("/environments/development/"))
    # When three retries would make a call last up to 0.5 * 4 + 0.2 + 0.4 + 0.8 = 3.4 s
    refused = client.post(
        reverse("console:binding-set", kwargs={"env": "development"}),
        {**HTTP_KYC, "timeout_seconds": "0.5", "retries": "3", "base_revision": revision(binding)},
    )
    # Then refused: the rule would give up first; nothing changed
    assert refused.status_code == 400 and "may take 3.4 s with its 3 retries" in text(refused)
    assert ServiceBinding.objects.get().retries == 1
