"""Every URL of the project, every method it serves, every role (anonymous and an account
without a role included): the status each gets, and whether the request changed
anything. The cases come from the URL configuration: a URL without a rule here fails
`test_matrix__url_configuration__every_url_has_a_rule`.

The console's pages ask anonymous people to log in and refuse accounts without a role;
every write is refused to roles without its permission and then changes nothing. The
API's own table (tests/pipelines_admin/api/test_permission_matrix.py) is checked with
tokens there and with a console session in test_api_session_matrix.py; the admin is
Django's, for superusers only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from tests.reliability.security.conftest import PII_APPLICANT, ROLES

pytestmark = pytest.mark.django_db

READERS = ("viewer", "editor", "publisher", "reviewer", "superuser")


# -- the URL configuration ----------------------------------------------------------------


def all_routes() -> list[tuple[str, str, dict]]:
    """(name, route, converters) of every URL pattern; unnamed patterns are named by route."""
    found = []

    def walk(patterns, prefix: str, namespace: str | None, converters: dict):
        for pattern in patterns:
            own = dict(getattr(pattern.pattern, "converters", {}))
            regex = getattr(pattern.pattern, "_regex", None)
            if regex and not own:  # a re_path: its named groups
                own = {group: None for group in pattern.pattern.regex.groupindex}
            merged = {**converters, **own}
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = (
                    ":".join(filter(None, [namespace, pattern.namespace])) if pattern.namespace else namespace
                )
                walk(pattern.url_patterns, route, inner, merged)
            else:
                name = pattern.name or f"<unnamed {route}>"
                found.append((f"{namespace}:{name}" if namespace else name, route, merged))

    walk(get_resolver().url_patterns, "", None, {})
    return found


# -- expectations --------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: int
    changes: bool = False  # the request changed the installation's state
    login: bool = False  # a redirect to the login page


LOGIN = Outcome(302, login=True)
NO_ROLE = Outcome(403)
# Allowed by role in a protected environment: the release gate (a passing test suite, or
# an override) may still stop the change, but never as a refusal of the role.
PERMITTED = Outcome(-1)


def matches(expected: Outcome, got: Outcome) -> bool:
    if expected is PERMITTED:
        return got.status not in (401, 403) and not got.login
    return expected == got


def page(ok: int = 200) -> dict[str, Outcome]:
    """A console page: log in first; a console role to read."""
    return {"anonymous": LOGIN, "roleless": NO_ROLE, **{r: Outcome(ok) for r in READERS}}


def write(ok: int = 302, refused: int = 403, *, protected: bool = False) -> dict[str, Outcome]:
    """A console write: editors and up change it (publishers and up in a protected
    environment); the others are refused with `refused` and nothing changes."""
    if protected:
        return {
            "anonymous": LOGIN,
            "roleless": NO_ROLE,
            "viewer": Outcome(refused),
            "editor": Outcome(refused),
            "publisher": PERMITTED,
            "reviewer": Outcome(refused),
            "superuser": PERMITTED,
        }
    return {
        "anonymous": LOGIN,
        "roleless": NO_ROLE,
        "viewer": Outcome(refused),
        "reviewer": Outcome(refused),
        **{r: Outcome(ok, changes=True) for r in ("editor", "publisher", "superuser")},
    }


def decide(ok: int = 302) -> dict[str, Outcome]:
    """Working the review queue: reviewers and superusers; the other roles are refused."""
    return {
        "anonymous": LOGIN,
        "roleless": NO_ROLE,
        **{r: Outcome(403) for r in ("viewer", "editor", "publisher")},
        **{r: Outcome(ok, changes=True) for r in ("reviewer", "superuser")},
    }


def manage(ok: int = 302) -> dict[str, Outcome]:
    """Managing webhooks: publishers and superusers; the other roles are refused."""
    return {
        "anonymous": LOGIN,
        "roleless": NO_ROLE,
        **{r: Outcome(403) for r in ("viewer", "editor", "reviewer")},
        **{r: Outcome(ok, changes=True) for r in ("publisher", "superuser")},
    }


def approve() -> dict[str, Outcome]:
    """Deciding another publisher's change request: publishers and superusers."""
    return {
        "anonymous": LOGIN,
        "roleless": NO_ROLE,
        **{r: Outcome(403) for r in ("viewer", "editor", "reviewer")},
        **{r: Outcome(302, changes=True) for r in ("publisher", "superuser")},
    }


def superuser_only(ok: int = 302) -> dict[str, Outcome]:
    return {
        "anonymous": LOGIN,
        "roleless": NO_ROLE,
        **{r: Outcome(403) for r in ("viewer", "editor", "publisher", "reviewer")},
        "superuser": Outcome(ok, changes=True),
    }


def read_only_post(ok: int = 200) -> dict[str, Outcome]:
    """A POST that only checks what is typed (validation while editing): any reader."""
    return {"anonymous": LOGIN, "roleless": NO_ROLE, **{r: Outcome(ok) for r in READERS}}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    expect: dict
    variant: str = ""
    kwargs: dict = field(default_factory=dict)
    query: str = ""

    @property
    def id(self) -> str:
        return f"{self.name}:{self.method}{':' + self.variant if self.variant else ''}"


CONSOLE = [
    Case("console:pipelines", "GET", page()),
    Case("console:runs", "GET", page()),
    Case("console:runs", "GET", page(), variant="htmx"),
    Case("console:try-run", "GET", page()),
    Case("console:try-run", "POST", write()),
    Case("console:pipeline-detail", "GET", page()),
    Case("console:pipeline-detail", "GET", page(), variant="htmx"),
    Case("console:pipeline-toggle", "POST", write()),
    Case("console:pipeline-toggle", "POST", write(protected=True), variant="protected"),
    Case("console:pipeline-toggle", "POST", write(ok=200, refused=403), variant="htmx"),
    Case("console:versions", "GET", page()),
    Case("console:version-diff", "GET", page(), query="?a=1&b=2"),
    Case("console:version-detail", "GET", page()),
    Case("console:version-release", "POST", write()),
    Case("console:version-release", "POST", write(protected=True), variant="protected"),
    Case("console:environment-diff", "GET", page(), query="?a=development&b=staging"),
    Case("console:environment-detail", "GET", page()),
    Case("console:environment-detail", "POST", write()),
    Case("console:environment-detail", "POST", write(protected=True), variant="protected"),
    Case("console:release-rollback", "POST", write()),
    Case("console:release-rollback", "POST", write(protected=True), variant="protected"),
    Case("console:config-edit", "GET", page()),
    Case("console:config-edit", "POST", write()),
    Case("console:stage-edit", "GET", page()),
    Case("console:stage-edit", "POST", write()),
    Case("console:stage-validate", "POST", read_only_post()),
    Case("console:rule-add", "GET", page()),
    Case("console:rule-add", "POST", write()),
    Case("console:rule-validate", "POST", read_only_post()),
    Case("console:rule-edit", "GET", page()),
    Case("console:rule-edit", "POST", write()),
    # refused: the page again with the reason; moving: the console's 403 page
    Case("console:rule-remove", "POST", write()),
    Case("console:rule-move", "POST", write()),
    Case("console:run-detail", "GET", page()),
    Case("console:run-detail", "GET", page(), variant="htmx"),
    Case("console:rerun", "POST", write()),
    Case("console:compare", "GET", page(), query="?a={run}&b={run}"),
    Case("console:batches", "GET", page()),
    Case("console:batches", "POST", write()),
    Case("console:batch-detail", "GET", page()),
    Case("console:batch-cancel", "POST", write()),
    Case("console:batch-results", "GET", page(), variant="csv"),
    Case("console:batch-results", "GET", page(), variant="jsonl"),
    Case("console:dashboards", "GET", page()),
    Case("console:audit", "GET", page()),
    Case("console:audit", "GET", page(), variant="htmx"),
    # test cases and suite runs
    Case("console:test-cases", "GET", page()),
    Case("console:test-case-new", "GET", page()),
    Case("console:test-case-new", "POST", write()),
    Case("console:test-case-edit", "GET", page()),
    Case("console:test-case-edit", "POST", write()),
    Case("console:test-case-delete", "POST", write()),
    Case("console:suite-run-start", "POST", write()),
    Case("console:suite-run", "GET", page()),
    Case("console:save-as-test-case", "POST", write()),
    # impact analysis
    Case("console:impact", "GET", page()),
    Case("console:impact", "POST", write()),
    Case("console:impact-report", "GET", page()),
    Case("console:impact-cancel", "POST", write()),
    # environments: publishers add them; their settings and bindings are changed like the environment
    Case("console:environments", "GET", page()),
    Case(
        "console:environments",
        "POST",
        {
            "anonymous": LOGIN,
            "roleless": NO_ROLE,
            "viewer": Outcome(403),
            "editor": Outcome(403),
            "publisher": Outcome(302, changes=True),
            "reviewer": Outcome(403),
            "superuser": Outcome(302, changes=True),
        },
    ),
    Case("console:environment", "GET", page()),
    Case("console:environment", "POST", write()),
    Case("console:environment", "POST", write(protected=True), variant="protected"),
    Case("console:binding-set", "POST", write()),
    Case("console:binding-set", "POST", write(protected=True), variant="protected"),
    Case("console:binding-remove", "POST", write()),
    Case("console:binding-remove", "POST", write(protected=True), variant="protected"),
    # the review queue: everyone reads it, reviewers work it
    Case("console:reviews", "GET", page()),
    Case("console:reviews", "GET", page(), variant="htmx"),
    Case("console:review", "GET", page()),
    Case("console:review-claim", "POST", decide()),
    # the reviewer's own claim; a superuser releases anyone's
    Case("console:review-release", "POST", decide()),
    Case("console:review-reveal", "POST", decide(200)),
    Case("console:review-reveal", "POST", decide(200), variant="htmx"),
    Case("console:review-decide", "POST", decide()),
    # writing a test case: editors and up
    Case("console:review-save-as-test-case", "POST", write()),
    # webhooks: everyone reads them and their delivery log; publishers manage them
    Case("console:webhooks", "GET", page()),
    Case("console:webhooks", "POST", manage(200)),  # the new secret is shown on the answer
    Case("console:webhook", "GET", page()),
    Case("console:webhook", "POST", manage()),
    Case("console:webhook-enable", "POST", manage()),
    Case("console:webhook-disable", "POST", manage()),
    Case("console:webhook-rotate-secret", "POST", manage(200)),
    Case("console:webhook-delete", "POST", manage()),
    Case("console:webhook-resend", "POST", manage()),
    # change requests: everyone reads them; publishers decide others' requests; the request
    # (production's, by another publisher) is not approved yet, so applying or scheduling
    # it is refused by the request's state, never by the role, for publishers
    Case("console:changes", "GET", page()),
    Case("console:changes", "GET", page(), variant="htmx"),
    Case("console:change-request", "GET", page()),
    Case("console:change-request-approve", "POST", approve()),
    Case("console:change-request-reject", "POST", approve()),
    # only its author revises it (nobody here); its author or a superuser withdraws it
    Case(
        "console:change-request-revise",
        "POST",
        {"anonymous": LOGIN, "roleless": NO_ROLE, **{r: Outcome(403) for r in READERS}},
    ),
    Case("console:change-request-withdraw", "POST", superuser_only()),
    Case("console:change-request-schedule", "POST", write(protected=True)),
    Case("console:change-request-apply", "POST", write(protected=True)),
    Case("console:change-request-break-glass", "POST", superuser_only()),
]

AUTHENTICATED = ("roleless", *READERS)

ACCOUNT = [
    # the login page; people already logged in are sent on to the console
    Case("login", "GET", {"anonymous": Outcome(200), **{r: Outcome(302) for r in AUTHENTICATED}}),
    Case(
        "login",
        "POST",
        {"anonymous": Outcome(200), **{r: Outcome(302) for r in AUTHENTICATED}},
        variant="wrong password",
    ),
    Case("logout", "POST", {"anonymous": LOGIN, **{r: Outcome(302) for r in AUTHENTICATED}}),
    Case("healthz", "GET", {r: Outcome(200) for r in ROLES}),
    # Prometheus: no login, but its bearer token (METRICS_TOKEN); a console session is not enough
    Case("metrics", "GET", {r: Outcome(401) for r in ROLES}),
    Case("metrics", "GET", {r: Outcome(200) for r in ROLES}, variant="metrics token"),
    # METRICS_TOKEN not set: off for everyone, an empty bearer token included (never open)
    Case("metrics", "GET", {r: Outcome(404) for r in ROLES}, variant="metrics off"),
    # the icon browsers ask for by themselves: everyone, logged in or not, is sent to the static file
    Case("favicon", "GET", {r: Outcome(302) for r in ROLES}),
    # API tokens: everyone logged in has their own, role or not
    Case("tokens:list", "GET", {"anonymous": LOGIN, **{r: Outcome(200) for r in AUTHENTICATED}}),
    Case(
        "tokens:list", "POST", {"anonymous": LOGIN, **{r: Outcome(200, changes=True) for r in AUTHENTICATED}}
    ),
    # the token is the editor's: nobody else revokes it, superusers included
    Case(
        "tokens:revoke",
        "POST",
        {"anonymous": LOGIN, **{r: Outcome(302, changes=r == "editor") for r in AUTHENTICATED}},
    ),
]

CASES = CONSOLE + ACCOUNT
COVERED_ELSEWHERE = (
    "api:",
    "admin:",
)  # test_api_session_matrix.py, test_admin__every_url__superusers_only below


def test_matrix__url_configuration__every_url_has_a_rule():
    # Given every URL pattern of the project
    names = {name for name, _route, _conv in all_routes()}
    # When compared with the matrix
    covered = {case.name for case in CASES}
    unruled = {n for n in names - covered if not n.startswith(COVERED_ELSEWHERE)}
    # Then every one has its expectations, and the matrix names nothing that is gone
    assert unruled == set(), "add cases for these URLs to the security permission matrix"
    assert covered - names == set(), "these URLs no longer exist"
    assert all(set(case.expect) == set(ROLES) for case in CASES)


# -- the installation's state, to see that a refused write changed nothing ------------------


def state() -> dict:
    from pipelines_admin.audit.models import AuditEvent
    from pipelines_admin.changes.models import ChangeApproval, ChangeRequest
    from pipelines_admin.configs.models import ConfigVersion, Environment, Pipeline, Release, ServiceBinding
    from pipelines_admin.impact.models import ImpactReport
    from pipelines_admin.reviews.models import ReviewCase, ReviewDisposition
    from pipelines_admin.runs.models import Batch, Run
    from pipelines_admin.testcases.models import SuiteRun, TestCase
    from pipelines_admin.tokens.models import ApiToken
    from pipelines_admin.webhooks.models import WebhookDelivery, WebhookSubscription

    return {
        "webhooks": sorted(
            WebhookSubscription.objects.values_list("name", "url", "active", "secret_encrypted", "events")
        ),
        "webhook_deliveries": WebhookDelivery.objects.count(),
        "pipelines": Pipeline.objects.count(),
        "versions": ConfigVersion.objects.count(),
        "releases": Release.objects.count(),
        "runs": Run.objects.count(),
        "batches": sorted(Batch.objects.values_list("status", flat=True)),
        "tokens": sorted((t.name, t.revoked_at is None) for t in ApiToken.objects.all()),
        "audit": AuditEvent.objects.count(),
        "test_cases": sorted(TestCase.objects.values_list("name", "updated_at")),
        "suite_runs": SuiteRun.objects.count(),
        "impact_reports": sorted(ImpactReport.objects.values_list("status", flat=True)),
        "review_cases": sorted(ReviewCase.objects.values_list("status", "claimed_by_id", "approvals")),
        "dispositions": ReviewDisposition.objects.count(),
        "environments": sorted(
            Environment.objects.values_list("name", "protected", "position", "description")
        ),
        "bindings": sorted(
            ServiceBinding.objects.values_list(
                "environment__name", "interface", "name", "kind", "latency_ms", "url"
            )
        ),
        "change_requests": sorted(
            (r.pk, r.status, r.revision, str(r.scheduled_for), r.break_glass)
            for r in ChangeRequest.objects.all()
        ),
        "change_approvals": ChangeApproval.objects.count(),
    }


# -- requests ------------------------------------------------------------------------------


#: the run each review page acts on
REVIEW_RUNS = {
    "console:review-release": "claimed_review_run",
    "console:review-save-as-test-case": "decided_review_run",
}


def url_kwargs(name: str, converters: dict, estate: dict, variant: str) -> dict:
    env = "production" if variant == "protected" else "development"
    release = estate["production_first_release"] if variant == "protected" else estate["first_release"]
    values = {
        "slug": "onboarding",
        "env": env,
        "number": 2,
        "release_id": release.pk,
        "stage": "business_rules",
        "rule": "age_verification",
        "run_id": estate[
            REVIEW_RUNS.get(name, "review_run") if name.startswith("console:review") else "run"
        ].pk,
        "batch_id": estate["queued_batch" if name == "console:batch-cancel" else "done_batch"].pk,
        "fmt": variant or "csv",
        "token_id": estate["token"].pk,
        "case_id": estate["case"].pk,
        "suite_id": estate["suite"].pk,
        "report_id": estate["report"].pk,
        "service": "KYCService:jumio",
        "webhook_id": estate["disabled_webhook" if name == "console:webhook-enable" else "webhook"].pk,
        "delivery_id": estate["webhook_delivery"].pk,
        "pk": estate["change_request"].pk,
    }
    if name == "console:rule-move":
        values.update(stage="data_quality", rule="email_format")
    return {key: values[key] for key in converters}


def scraped_form(client: Client, url: str, form_id: str, **changes) -> dict:
    """What the browser posts for the form `form_id` as the page renders it, with changes."""
    from tests.pipelines_admin.console.test_schema_forms import submitted

    html = client.get(url).content.decode()
    start = html.index(f'id="{form_id}"')
    data = submitted(html[start : html.index("</form>", start)], **changes)
    return {key: data.getlist(key) for key in data if key != "csrfmiddlewaretoken"}  # the scraper's, not ours


def case_revision(case) -> str:
    from pipelines_admin.testcases.services import case_revision as revision

    case.refresh_from_db()
    return revision(case)


def settings_of(env: str, interface: str | None = None, name: str | None = None) -> str:
    """The revision of an environment's settings, or of one of its bindings ("" when unbound)."""
    from pipelines_admin.configs.models import Environment, ServiceBinding
    from pipelines_admin.configs.selectors import settings_revision

    if interface is None:
        return settings_revision(Environment.objects.get(name=env))
    binding = ServiceBinding.objects.filter(environment__name=env, interface=interface, name=name).first()
    return settings_revision(binding) if binding else ""


def live_revision(estate: dict, env: str) -> str:
    """The revision of what `env` runs now, as the page the form came from shows it."""
    from pipelines_admin.configs.models import Environment
    from pipelines_admin.configs.selectors import environment_revision, release_live

    return environment_revision(release_live(estate["pipeline"], Environment.objects.get(name=env)))


def body(case: Case, url: str, estate: dict, scraper: Client):
    """A valid request body for the case: the refusals then come from the role alone."""
    env = "production" if case.variant == "protected" else "development"
    base = {"slug": "onboarding"}
    name = case.name
    if name == "console:try-run":
        return {"environment": "development", "record": json.dumps(PII_APPLICANT)}
    if name == "console:pipeline-toggle":
        return {
            "environment": env,
            "stage": "business_rules",
            "enabled": "false",
            "reason": "maintenance window",
            "base_revision": live_revision(estate, env),
        }
    if name == "console:version-release":
        return {"environment": "staging" if env == "development" else env, "reason": "release v2"}
    if name == "console:environment-detail":
        return {
            "override": json.dumps({"stages": {"data_quality": {"timeout_seconds": 20}}}),
            "reason": "slow",
            "base_revision": live_revision(estate, env),
        }
    if name == "console:release-rollback":
        return {"reason": "back to v1"}
    if name == "console:config-edit":
        document = json.loads(json.dumps(estate["v2"].document))
        document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = 25
        return {
            "base_version": 2,
            "format": "json",
            "action": "save",
            "message": "minimum age 25",
            "text": json.dumps(document),
        }
    if name in ("console:stage-edit", "console:stage-validate"):
        page_url = reverse("console:stage-edit", kwargs={**base, "stage": "data_quality"})
        return scraped_form(scraper, page_url, "stage-form", s__timeout_seconds="20", message="slower data")
    if name in ("console:rule-add",):
        page_url = reverse("console:rule-add", kwargs={**base, "stage": "business_rules"})
        return scraped_form(
            scraper,
            page_url + "?class=AgeVerificationRule",
            "rule-form",
            rule_id="adult_check",
            p__minimum_age="30",
            message="adults only",
        )
    if name in ("console:rule-edit", "console:rule-validate"):
        page_url = reverse(
            "console:rule-edit", kwargs={**base, "stage": "business_rules", "rule": "age_verification"}
        )
        return scraped_form(scraper, page_url, "rule-form", p__minimum_age="30", message="minimum age 30")
    if name == "console:rule-remove":
        return {"base_version": 2, "remove_message": "age is checked elsewhere"}
    if name == "console:rule-move":
        return {"base_version": 2, "direction": "up"}
    if name == "console:rerun":
        return {"environment": "staging", "version": ""}
    if name == "console:batches":
        return {
            "pipeline": "onboarding",
            "environment": "development",
            "file": SimpleUploadedFile(
                "apps.jsonl", json.dumps(PII_APPLICANT).encode(), "application/x-ndjson"
            ),
        }
    if name in ("console:test-case-new", "console:test-case-edit"):
        return {
            "name": "a minor fails",
            "description": "",
            "record": json.dumps({**PII_APPLICANT, "age": 1}),
            "status": "failed",
            "base_revision": case_revision(estate["case"]),
        }
    if name == "console:test-case-delete":
        return {"base_revision": case_revision(estate["case"])}
    if name == "console:suite-run-start":
        return {"environment": "development", "version": ""}
    if name == "console:impact":
        return {"environment": "development", "version": "1", "override": "", "last": "10"}
    if name == "console:environments":
        return {"name": "uat", "position": "25", "description": "User acceptance"}
    if name == "console:environment":
        return {
            "position": "15",
            "description": "changed",
            "protected": "on" if env == "production" else "",
            "reason": "tidy up",
            "base_revision": settings_of(env),
        }
    if name == "console:binding-set":
        return {
            "interface": "KYCService",
            "name": "jumio",
            "kind": "simulated",
            "latency_ms": "25",
            "failure_rate": "0",
            "timeout_seconds": "5",
            "url": "",
            "secret_env": "",
            "reason": "slower vendor",
            "base_revision": settings_of(env, "KYCService", "jumio"),
        }
    if name == "console:binding-remove":
        return {"reason": "not needed", "base_revision": settings_of(env, "KYCService", "jumio")}
    if name in ("console:change-request-approve", "console:change-request-reject"):
        return {"comment": "checked the diff"}
    if name == "console:change-request-revise":
        return {"version": "2", "override": "", "reason": "v2 after all"}
    if name == "console:change-request-withdraw":
        return {"reason": "not needed"}
    if name == "console:change-request-schedule":
        from datetime import timedelta

        from django.utils import timezone

        return {"when": (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")}
    if name == "console:change-request-break-glass":
        return {"reason": "outage", "confirm": "on"}
    if name == "console:review-reveal":
        return {"field": "ssn", "reason": "compare with the watch list"}
    if name == "console:review-decide":
        return {"decision": "approve", "approve-reason_code": "false_positive", "approve-note": "ok"}
    if name == "console:review-save-as-test-case":
        return {"expect": "failed"}
    if name == "console:webhooks":
        return {"name": "ci bot", "url": "https://hooks.example.com/ci", "events": ["batch.finished"]}
    if name == "console:webhook":
        return {"name": "ops bot", "url": "https://hooks.example.com/ops2", "events": ["release.created"]}
    if name == "console:webhook-disable":
        return {"reason": "maintenance"}
    if name == "login":
        return {"username": "eddie", "password": "not the password"}
    if name == "tokens:list":
        return {"name": "a new token"}
    return {}


def login_redirect(response, path: str) -> bool:
    location = response.get("Location", "")
    return (
        response.status_code == 302 and location.startswith("/login/") and quote(path, safe="/") in location
    )


ROUTES = {name: converters for name, _route, converters in all_routes()}


METRICS_TOKEN = "matrix-metrics-token-0123456789abcdef"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_url__each_role__expected_status_and_only_allowed_roles_change_anything(
    case, estate, user_in_role, settings
):
    # Given the URL with real objects behind it, and a request as a browser makes it
    path = reverse(
        case.name, kwargs=url_kwargs(case.name, ROUTES[case.name], estate, case.variant)
    ) + case.query.format(run=estate["run"].pk)
    scraper = Client()
    scraper.force_login(user_in_role("superuser"))
    settings.METRICS_TOKEN = "" if case.variant == "metrics off" else METRICS_TOKEN
    headers = {"HTTP_HX_REQUEST": "true"} if case.variant == "htmx" else {}
    if case.variant == "metrics token":
        headers = {"HTTP_AUTHORIZATION": f"Bearer {METRICS_TOKEN}"}
    elif case.variant == "metrics off":
        headers = {"HTTP_AUTHORIZATION": "Bearer "}
    mismatches = []
    for role in ROLES:
        client = Client()
        user = user_in_role(role)
        if user is not None:
            client.force_login(user)
        with transaction.atomic():  # every role starts from the same state
            data = body(case, path, estate, scraper) if case.method == "POST" else None
            before = state()
            # When this role sends it
            if case.method == "GET":
                response = client.get(path, **headers)
            else:
                response = client.post(path, data, **headers)
            changed = state() != before
            transaction.set_rollback(True)
        # Then the status and the change are the ones the role allows
        expected = case.expect[role]
        got = Outcome(
            response.status_code,
            changes=changed,
            login=response.status_code == 302 and login_redirect(response, path.split("?")[0]),
        )
        if not matches(expected, got):
            mismatches.append(
                f"{role}: expected {expected}, got {got} "
                f"{response.get('Location', '')} {response.content[:200]!r}"
            )
    assert not mismatches, f"{case.id} {path}\n" + "\n".join(mismatches)


# -- the admin -----------------------------------------------------------------------------


def admin_cases() -> list[tuple[str, str, dict]]:
    return [(name, route, conv) for name, route, conv in all_routes() if name.startswith("admin:")]


def unnamed_admin_path(route: str) -> str:
    """The path of an unnamed admin pattern (the object redirect, the catch-all)."""
    return "/" + route.replace("<path:object_id>", "1").replace("(?P<url>.*)$", "no/such/page/")


def test_admin__every_url__superusers_only(estate, user_in_role):
    # Given every URL of Django's admin, with a real object where one is named
    from django.contrib import admin
    from django.contrib.contenttypes.models import ContentType

    models = {f"{m._meta.app_label}_{m._meta.model_name}": m for m in admin.site._registry}
    paths = []
    for name, route, converters in admin_cases():
        if "<unnamed" in name:
            paths.append((name, unnamed_admin_path(route)))
            continue
        kwargs = {}
        for key in converters:
            if key == "object_id":
                model = next((m for prefix, m in models.items() if name.startswith(f"admin:{prefix}_")), None)
                obj = model.objects.first() if model is not None else None
                kwargs[key] = str(obj.pk) if obj is not None else "1"
            elif key == "content_type_id":
                kwargs[key] = ContentType.objects.first().pk
            elif key == "app_label":
                kwargs[key] = "auth"
            elif key == "url":
                kwargs[key] = "no/such/page/"
            else:
                kwargs[key] = "1"
        paths.append((name, reverse(name, kwargs=kwargs)))
    assert len(paths) > 20  # the admin's URLs were found
    problems = []
    for role in ROLES:
        client = Client()
        user = user_in_role(role)
        if user is not None:
            client.force_login(user)
        for name, path in paths:
            if name == "admin:logout":
                continue  # a POST that logs out: any session may
            # When anyone but the superuser asks for an admin page
            response = client.get(path)
            location = response.get("Location", "")
            # Then they are sent to a login page (the console's or the admin's); the
            # superuser is let in (some pages then answer 403 or 404 on their own terms)
            if role == "superuser":
                ok = response.status_code < 500 and "login/" not in location
            elif name == "admin:login":
                ok = (
                    response.status_code == 200 if role == "anonymous" else response.status_code in (200, 302)
                )
            else:
                ok = response.status_code == 302 and location.startswith(("/admin/login/", "/login/"))
            if not ok:
                problems.append(f"{role} {name} {path}: {response.status_code} {location}")
    assert not problems, "\n".join(problems)
