"""The pipeline pages: overview (graph + environment matrix), versions, environments."""

import copy
import json
import re

import pytest
from django.urls import reverse

from pipelines_admin.audit.models import AuditEvent
from pipelines_admin.changes.models import ChangeRequest
from pipelines_admin.configs import services
from pipelines_admin.configs.change_control import ChangeAuthority
from pipelines_admin.configs.models import Release
from pipelines_admin.configs.selectors import effective_config, release_live
from pipelines_admin.releases import services as release_services

pytestmark = pytest.mark.django_db

#: data set-up: production's gate was overridden through a change request approved before the test
APPROVED = ChangeAuthority("change_request", 0, ("paula",))

HTMX = {"HTTP_HX_REQUEST": "true"}


def based(form: dict, environment: str | None = None) -> dict:
    """`form` as the page sends it: with the revision of what the environment runs (the
    form's own environment, or `environment`) when the page was drawn."""
    from pipelines_admin.configs.models import Environment, Pipeline
    from pipelines_admin.configs.selectors import environment_revision

    name = environment or form.get("environment")
    place = Environment.objects.filter(name=name).first()
    pipeline = Pipeline.objects.filter(slug="onboarding").first()
    live = release_live(pipeline, place) if place and pipeline else None
    return {**form, "base_revision": environment_revision(live)}


@pytest.fixture
def pipeline(editor, publisher, small_pipeline_document, environments):
    """Onboarding, v1 released to development and staging (by an editor) and production (by a publisher)."""
    pipeline = services.pipeline_create(
        slug="onboarding", name="Onboarding", document=small_pipeline_document, author=editor
    )
    version = pipeline.versions.get()
    for name in ("development", "staging"):
        release_services.release_create(
            pipeline=pipeline, environment=environments[name], version=version, actor=editor
        )
    release_services.release_create(
        pipeline=pipeline,
        environment=environments["production"],
        version=version,
        actor=publisher,
        reason="first release",
        gate_override=True,
        authority=APPROVED,
    )
    return pipeline


@pytest.fixture
def second_version(pipeline, editor, small_pipeline_document):
    document = copy.deepcopy(small_pipeline_document)
    document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = 21
    return services.config_version_create(
        pipeline=pipeline,
        document=document,
        base_version=pipeline.versions.get(number=1),
        author=editor,
        message="Raise the minimum age to 21",
    )


def url(name, **kwargs):
    return reverse(f"console:{name}", kwargs={"slug": "onboarding", **kwargs})


def releases_count():
    return Release.objects.count()


def stage_enabled(pipeline, environments, env, stage):
    return effective_config(pipeline, environments[env]).document["stages"][stage].get("enabled", True)


# -- overview ---------------------------------------------------------------------------


def test_pipeline_detail__viewer__graph_and_read_only_matrix(client, viewer, pipeline):
    # Given a viewer
    client.force_login(viewer)
    # When the pipeline page is opened
    response = client.get(url("pipeline-detail"))
    html = response.content.decode()
    # Then the graph shows stages as lanes and rules as nodes linking to their editors
    assert response.status_code == 200
    assert 'class="pipeline-graph"' in html and "data_quality" in html and "business_rules" in html
    assert f'href="{url("rule-edit", stage="data_quality", rule="email_format")}"' in html
    assert f'href="{url("stage-edit", stage="business_rules")}"' in html
    assert 'class="edge cross_stage' in html and 'class="edge dependency' in html
    assert "depends on a rule of an earlier stage" in html  # the legend
    # and the matrix is read-only: states, no toggle forms, no "add a rule"
    assert 'id="matrix"' in html and 'class="state on' in html
    assert url("pipeline-toggle") not in html and "+ add a rule" not in html
    assert html.count("read-only") >= 3


def test_pipeline_detail__editor__run_a_batch_link_preselects_the_pipeline(client, editor, viewer, pipeline):
    # Given an editor on the pipeline page / Then "Run a batch" leads to the batch form with this pipeline
    client.force_login(editor)
    html = client.get(url("pipeline-detail")).content.decode()
    assert f'href="{reverse("console:batches")}?pipeline=onboarding">Run a batch</a>' in html
    # and a viewer, who may not run batches, is not offered it
    client.force_login(viewer)
    assert "Run a batch" not in client.get(url("pipeline-detail")).content.decode()


def test_pipeline_detail__editor__toggles_in_unprotected_environments_only(client, editor, pipeline):
    # Given an editor / When the page is opened
    client.force_login(editor)
    html = client.get(url("pipeline-detail")).content.decode()
    # Then development and staging have toggle buttons, production stays read-only
    assert 'aria-label="Turn off stage data_quality in development"' in html
    assert 'aria-label="Turn off rule email_format in staging"' in html
    assert 'aria-label="Turn off stage data_quality in production"' not in html
    assert 'name="reason" required' not in html
    assert "+ add a rule" in html


def test_pipeline_detail__publisher__protected_toggle_asks_for_a_reason(client, publisher, pipeline):
    # Given a publisher / When the page is opened
    client.force_login(publisher)
    html = client.get(url("pipeline-detail")).content.decode()
    # Then production's toggles open a question with a required reason
    assert '<summary class="switch on" aria-label="Turn off stage data_quality in production"' in html
    assert 'name="reason" required' in html and "production is protected" in html


def test_pipeline_detail__htmx__renders_only_the_asked_partial(client, viewer, pipeline):
    # Given a viewer
    client.force_login(viewer)
    # When the page is asked by htmx, once for the matrix and once for the graph
    matrix = client.get(url("pipeline-detail"), **HTMX).content.decode()
    graph = client.get(
        url("pipeline-detail") + "?environment=development", HTTP_HX_TARGET="graph", **HTMX
    ).content.decode()
    # Then each answer is only that fragment
    assert (
        matrix.lstrip().startswith('<section id="matrix"')
        and "<html" not in matrix
        and "pipeline-graph" not in matrix
    )
    assert (
        graph.lstrip().startswith('<section id="graph"')
        and "<html" not in graph
        and 'id="matrix"' not in graph
    )
    assert "What runs in" in graph


def test_pipeline_detail__environment_view__graph_of_its_effective_config(
    client, editor, pipeline, environments
):
    # Given email_format turned off in development
    release_services.rule_toggle(
        pipeline=pipeline,
        environment=environments["development"],
        stage="data_quality",
        rule="email_format",
        enabled=False,
        actor=editor,
    )
    client.force_login(editor)
    # When the graph of development is shown, then the latest version's
    in_dev = client.get(url("pipeline-detail") + "?environment=development").content.decode()
    latest = client.get(url("pipeline-detail")).content.decode()
    # Then the rule is greyed in development's graph only
    assert 'node disabled rule-off" data-rule="email_format"' in in_dev
    assert 'data-rule="email_format"' in latest and 'rule-off" data-rule="email_format"' not in latest
    # and an unknown environment falls back to the latest version
    unknown = client.get(url("pipeline-detail") + "?environment=moon")
    assert unknown.status_code == 200 and "The latest version, v1, as saved" in unknown.content.decode()


def test_pipeline_detail__unknown_pipeline__404(client, viewer, environments):
    client.force_login(viewer)
    assert client.get(reverse("console:pipeline-detail", kwargs={"slug": "nope"})).status_code == 404


def test_pipeline_detail__not_released_environment__column_says_so(
    client, editor, small_pipeline_document, environments
):
    # Given a pipeline released nowhere
    services.pipeline_create(
        slug="onboarding", name="Onboarding", document=small_pipeline_document, author=editor
    )
    client.force_login(editor)
    # When the page is opened / Then every environment says it is not released, without toggles
    html = client.get(url("pipeline-detail")).content.decode()
    assert html.count("not released</span>") == 3 and url("pipeline-toggle") not in html


def test_pipelines_list__pipeline_name__links_to_its_page(client, viewer, pipeline):
    client.force_login(viewer)
    html = client.get(reverse("console:pipelines")).content.decode()
    assert f'<a href="{url("pipeline-detail")}">Onboarding</a>' in html


# -- toggles ----------------------------------------------------------------------------


def test_toggle__editor_htmx_stage_off_in_development__new_release_and_matrix_partial(
    client, editor, pipeline, environments
):
    # Given an editor
    client.force_login(editor)
    # When she turns business_rules (nothing depends on it) off in development from the matrix
    response = client.post(
        url("pipeline-toggle"),
        based({"environment": "development", "stage": "business_rules", "enabled": "false"}),
        **HTMX,
    )
    html = response.content.decode()
    # Then a toggle release turns it off there only, and the answer is the updated matrix
    assert response.status_code == 200
    assert release_live(pipeline, environments["development"]).kind == "toggle"
    assert stage_enabled(pipeline, environments, "development", "business_rules") is False
    assert stage_enabled(pipeline, environments, "staging", "business_rules") is True
    assert html.lstrip().startswith('<section id="matrix"') and "<html" not in html
    assert "Stage business_rules turned off in development" in html
    assert 'aria-label="Turn on stage business_rules in development"' in html


def test_toggle__stage_others_depend_on__consequences_first_nothing_changed(
    client, editor, pipeline, environments
):
    # Given an editor, and age_verification (business_rules) depending on required_fields (data_quality)
    client.force_login(editor)
    before = releases_count()
    # When she turns data_quality off in development
    response = client.post(
        url("pipeline-toggle"),
        based({"environment": "development", "stage": "data_quality", "enabled": "false"}),
        **HTMX,
    )
    html = response.content.decode()
    # Then nothing changed yet: the matrix asks first, naming the rule that would be left unable to run,
    # with one button turning both off and one cancelling
    assert response.status_code == 409 and releases_count() == before
    assert stage_enabled(pipeline, environments, "development", "data_quality") is True
    assert "Turn off stage data_quality in development?" in html
    assert "<code>business_rules/age_verification</code>" in html
    assert 'name="disable_dependents" value="on"' in html
    assert "Turn off data_quality and this rule" in html and "Cancel: keep everything on" in html


def test_toggle__stage_with_its_dependents__one_release_audit_names_each(
    client, editor, pipeline, environments
):
    # Given an editor who saw the consequences
    client.force_login(editor)
    # When she confirms: data_quality off and the rules that need it too
    response = client.post(
        url("pipeline-toggle"),
        based(
            {
                "environment": "development",
                "stage": "data_quality",
                "enabled": "false",
                "disable_dependents": "on",
            }
        ),
        **HTMX,
    )
    html = response.content.decode()
    # Then one release turns off the stage and age_verification, and the audit event names both
    assert response.status_code == 200
    live = release_live(pipeline, environments["development"])
    document = effective_config(pipeline, environments["development"]).document
    assert document["stages"]["data_quality"]["enabled"] is False
    assert document["stages"]["business_rules"]["rules"]["age_verification"]["enabled"] is False
    assert "Stage data_quality turned off in development, with business_rules/age_verification" in html
    event = AuditEvent.objects.filter(action="stage.toggled", object_id=str(live.pk)).get()
    assert event.data["toggled"] == {"stage": "data_quality", "rule": None, "enabled": False}
    assert event.data["disabled_dependents"] == [{"stage": "business_rules", "rule": "age_verification"}]


def test_toggle__rule_without_javascript__redirect_with_message(client, editor, pipeline, environments):
    # Given an editor without htmx
    client.force_login(editor)
    # When she turns a rule off in staging
    response = client.post(
        url("pipeline-toggle"),
        based(
            {"environment": "staging", "stage": "data_quality", "rule": "email_format", "enabled": "false"}
        ),
    )
    # Then she is sent back to the matrix, where a message says what happened
    assert response.status_code == 302 and response["Location"] == url("pipeline-detail") + "#matrix"
    rules = effective_config(pipeline, environments["staging"]).document["stages"]["data_quality"]["rules"]
    assert rules["email_format"]["enabled"] is False
    assert (
        "Rule email_format of stage data_quality turned off in staging"
        in client.get(response["Location"]).content.decode()
    )


def test_toggle__editor_in_production__refused_and_nothing_changed(client, editor, pipeline, environments):
    # Given an editor (production is protected)
    client.force_login(editor)
    before = releases_count()
    # When she posts a toggle for production anyway
    response = client.post(
        url("pipeline-toggle"),
        based(
            {"environment": "production", "stage": "data_quality", "enabled": "false", "reason": "testing"}
        ),
        **HTMX,
    )
    # Then it is refused next to the matrix and nothing changed
    assert response.status_code == 403
    assert "Only publishers may change the protected environment production" in response.content.decode()
    assert releases_count() == before
    assert stage_enabled(pipeline, environments, "production", "data_quality") is True


def test_toggle__viewer__refused_and_nothing_changed(client, viewer, pipeline, environments):
    client.force_login(viewer)
    before = releases_count()
    response = client.post(
        url("pipeline-toggle"),
        based({"environment": "development", "stage": "data_quality", "enabled": "false"}),
    )
    assert response.status_code == 403 and "does not allow" in response.content.decode()
    assert releases_count() == before


def test_toggle__publisher_in_production_without_reason__asked_again_with_error(
    client, publisher, pipeline, environments
):
    # Given a publisher
    client.force_login(publisher)
    before = releases_count()
    # When she toggles production with a blank reason
    response = client.post(
        url("pipeline-toggle"),
        based({"environment": "production", "stage": "business_rules", "enabled": "false", "reason": "   "}),
        **HTMX,
    )
    html = response.content.decode()
    # Then nothing changed and the question is open again beside the cell, with the error
    assert response.status_code == 400 and releases_count() == before
    assert "production is protected: give a reason" in html
    assert '<details class="ask-reason" open>' in html
    # When she gives a reason, for a config no test suite has passed on
    response = client.post(
        url("pipeline-toggle"),
        based(
            {
                "environment": "production",
                "stage": "business_rules",
                "enabled": "false",
                "reason": "credit bureau outage",
            }
        ),
        **HTMX,
    )
    # Then the release gate stops it, saying why, with her reason kept
    assert response.status_code == 409 and releases_count() == before
    html = response.content.decode()
    assert "Release gate: Onboarding has no test cases" in html and 'value="credit bureau outage"' in html
    # When she releases it anyway
    response = client.post(
        url("pipeline-toggle"),
        based(
            {
                "environment": "production",
                "stage": "business_rules",
                "enabled": "false",
                "reason": "credit bureau outage",
                "gate_override": "on",
            }
        ),
        **HTMX,
    )
    # Then overriding the gate opens a change request (a second publisher approves it):
    # production does not change yet, and the browser is sent to the request
    change = ChangeRequest.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("console:change-request", kwargs={"pk": change.pk})
    assert change.gate_override and change.reason == "credit bureau outage" and change.kind == "toggle"
    assert releases_count() == before
    assert stage_enabled(pipeline, environments, "production", "business_rules") is True


def test_toggle__bad_input__400_with_the_problem(client, editor, pipeline):
    client.force_login(editor)
    response = client.post(
        url("pipeline-toggle"),
        based({"environment": "moon", "stage": "data_quality", "enabled": "maybe"}),
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 400 and "There is no such environment" in html and "enabled" in html


def test_toggle__unknown_stage__404_message_beside_matrix(client, editor, pipeline):
    client.force_login(editor)
    response = client.post(
        url("pipeline-toggle"), based({"environment": "development", "stage": "ghost", "enabled": "false"})
    )
    assert (
        response.status_code == 404
        and "Stage ghost does not exist in development" in response.content.decode()
    )


def test_toggle__get__not_allowed(client, editor, pipeline):
    client.force_login(editor)
    assert client.get(url("pipeline-toggle")).status_code == 405


# -- versions ---------------------------------------------------------------------------


def test_versions__viewer__history_with_where_live_and_no_release_forms(
    client, viewer, pipeline, second_version
):
    # Given v1 live everywhere and v2 saved
    client.force_login(viewer)
    # When the versions page is opened
    html = client.get(url("versions")).content.decode()
    # Then both versions are listed with their messages, v1 live in the three environments
    assert "Raise the minimum age to 21" in html and 'v2</a> <span class="tag">latest' in html
    row_v1 = html.split('id="v1"')[1]
    assert all(env in row_v1 for env in ("development", "staging", "production"))
    # and a viewer gets no release form, but can pick two versions to compare (v1 → v2 preselected)
    assert "Release…" not in html and "cannot release" in html
    assert 'name="a" value="1" form="diff-form" aria-label="compare from v1" checked' in html
    assert 'name="b" value="2" form="diff-form" aria-label="compare to v2" checked' in html


def test_versions__editor__release_form_offers_only_environments_she_may_change(
    client, editor, pipeline, second_version
):
    client.force_login(editor)
    html = client.get(url("versions")).content.decode()
    form = html.split('class="stack release-form"')[1].split("</form>")[0]
    assert '<option value="development"' in form and '<option value="staging"' in form
    assert "production" not in form


def test_versions__long_history__paginated_and_htmx_gets_the_table(
    client, editor, pipeline, small_pipeline_document
):
    # Given 24 versions
    document = copy.deepcopy(small_pipeline_document)
    base = pipeline.versions.get()
    for age in range(19, 42):
        document["stages"]["business_rules"]["rules"]["age_verification"]["params"]["minimum_age"] = age
        base = services.config_version_create(
            pipeline=pipeline,
            document=copy.deepcopy(document),
            base_version=base,
            author=editor,
            message=f"age {age}",
        )
    client.force_login(editor)
    # When the first and second pages are asked
    first = client.get(url("versions")).content.decode()
    second = client.get(url("versions") + "?page=2", **HTMX).content.decode()
    # Then the newest 20 are on the first page, the rest on the second, which htmx gets alone
    assert "Page 1 of 2" in first and 'id="v24"' in first and 'id="v4"' not in first
    assert second.lstrip().startswith('<section id="history">') and "<html" not in second
    assert 'id="v4"' in second and 'id="v1"' in second and 'id="v5"' not in second


def test_version_detail__viewer__facts_graph_and_document(client, viewer, pipeline, second_version):
    client.force_login(viewer)
    response = client.get(url("version-detail", number=2))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Raise the minimum age to 21" in html and 'class="pipeline-graph"' in html
    assert "&quot;minimum_age&quot;: 21" in html
    assert f"{url('version-diff')}?a=1&amp;b=2" in html
    assert client.get(url("version-detail", number=9)).status_code == 404


def test_version_release__editor_to_staging__released_and_redirected(
    client, editor, pipeline, second_version, environments
):
    client.force_login(editor)
    response = client.post(url("version-release", number=2), {"environment": "staging", "reason": ""})
    assert response.status_code == 302 and response["Location"] == url("environment-detail", env="staging")
    assert release_live(pipeline, environments["staging"]).version.number == 2
    assert release_live(pipeline, environments["development"]).version.number == 1


def test_version_detail__live_in_development_only__staging_preselected(
    client, publisher, pipeline, second_version, environments
):
    # Given v2 released to development only
    release_services.release_create(
        pipeline=pipeline, environment=environments["development"], version=second_version, actor=publisher
    )
    client.force_login(publisher)
    # When its page is opened
    html = client.get(url("version-detail", number=2)).content.decode()
    # Then the release form offers staging, the first environment not running it yet, and says where it runs
    assert '<option value="staging" selected>' in html
    assert '<option value="development">development (runs v2)</option>' in html
    assert "Release</button>" in html


def test_version_detail__live_everywhere_one_may_release_to__said_instead_of_a_form(
    client, editor, publisher, pipeline, second_version, environments
):
    # Given v1 live in every environment
    # When a publisher opens its page
    client.force_login(publisher)
    html = client.get(url("version-detail", number=1)).content.decode()
    # Then no release is offered: it says v1 runs everywhere
    assert "v1 already runs in every environment." in html and "Release</button>" not in html
    # When v2 is released to development and staging, its page preselects production for the publisher
    for name in ("development", "staging"):
        release_services.release_create(
            pipeline=pipeline, environment=environments[name], version=second_version, actor=editor
        )
    assert (
        '<option value="production" selected>' in client.get(url("version-detail", number=2)).content.decode()
    )
    # And an editor, who may release to development and staging only, is told v2 runs in both
    client.force_login(editor)
    html = client.get(url("version-detail", number=2)).content.decode()
    assert "v2 already runs in every environment you may release to (development and staging)." in html
    assert "Release</button>" not in html


def test_versions_page__release_forms__first_environment_not_running_each_version(
    client, editor, pipeline, second_version, environments
):
    # Given v1 live everywhere / When an editor opens the versions page
    client.force_login(editor)
    html = client.get(url("versions")).content.decode()
    # Then v1 offers no release, and v2 (live nowhere) has development chosen
    v1 = html[html.index('id="v1"') :]
    assert "live everywhere" in v1 and "Release v1</button>" not in v1
    assert '<option value="development" selected>' in html[html.index('id="v2"') : html.index('id="v1"')]
    # When v2 is released to development
    release_services.release_create(
        pipeline=pipeline, environment=environments["development"], version=second_version, actor=editor
    )
    html = client.get(url("versions")).content.decode()
    # Then v2's form has staging chosen, and v1's development, where it no longer runs
    assert (
        '<option value="staging" selected>staging</option>'
        in html[html.index('id="v2"') : html.index('id="v1"')]
    )
    assert '<option value="development" selected>development</option>' in html[html.index('id="v1"') :]
    # When v2 is released to staging too, the editor (who may not release to production) is told so
    release_services.release_create(
        pipeline=pipeline, environment=environments["staging"], version=second_version, actor=editor
    )
    html = client.get(url("versions")).content.decode()
    v2 = html[html.index('id="v2"') : html.index('id="v1"')]
    assert "live wherever you may release it" in v2 and "Release v2</button>" not in v2


def test_version_release__editor_to_production__refused_nothing_changed(
    client, editor, pipeline, second_version, environments
):
    client.force_login(editor)
    before = releases_count()
    response = client.post(url("version-release", number=2), {"environment": "production", "reason": "go"})
    assert response.status_code == 403 and "Only publishers" in response.content.decode()
    assert releases_count() == before


def test_version_release__viewer__refused(client, viewer, pipeline, second_version):
    client.force_login(viewer)
    before = releases_count()
    response = client.post(url("version-release", number=2), {"environment": "development"})
    assert response.status_code == 403 and releases_count() == before


def test_version_release__publisher_to_production_without_reason__error_beside_reason(
    client, publisher, pipeline, second_version, environments
):
    client.force_login(publisher)
    before = releases_count()
    response = client.post(url("version-release", number=2), {"environment": "production", "reason": ""})
    html = response.content.decode()
    assert response.status_code == 400 and releases_count() == before
    assert "Reason: production is protected: give a reason" in html
    assert '<option value="production" selected>' in html


def test_version_release__override_breaks_new_version__every_problem_listed(
    client, editor, pipeline, environments, small_pipeline_document
):
    # Given development overrides a param of email_format, and v2 removes that rule's class params schema
    release_services.override_set(
        pipeline=pipeline,
        environment=environments["development"],
        actor=editor,
        override={
            "stages": {"data_quality": {"rules": {"email_format": {"params": {"field_name": "work_email"}}}}}
        },
    )
    document = copy.deepcopy(small_pipeline_document)
    del document["stages"]["data_quality"]["rules"]["email_format"]
    services.config_version_create(
        pipeline=pipeline,
        document=document,
        base_version=pipeline.versions.get(),
        author=editor,
        message="Drop the email rule",
    )
    client.force_login(editor)
    # When v2 is released to development, whose override now describes a rule without a class
    response = client.post(url("version-release", number=2), {"environment": "development"})
    html = response.content.decode()
    # Then it is refused with each problem and its path
    assert response.status_code == 400
    assert "problem" in html and "<code>/stages/data_quality/rules/email_format" in html
    assert release_live(pipeline, environments["development"]).version.number == 1


# -- version diff -----------------------------------------------------------------------


def test_version_diff__default__previous_against_latest_semantic_and_text(
    client, viewer, pipeline, second_version
):
    client.force_login(viewer)
    response = client.get(url("version-diff"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "1 change from v1 to v2" in html
    assert "Rule age_verification: minimum_age 18 → 21." in html
    assert '<span class="d-del">' in html and '<span class="d-add">' in html
    assert "&quot;minimum_age&quot;: 21" in html


def test_version_diff__only_one_version__nothing_to_compare(client, viewer, pipeline):
    client.force_login(viewer)
    html = client.get(url("version-diff")).content.decode()
    assert "Only one version so far" in html


def test_version_diff__unknown_or_bad_numbers__error_shown(client, viewer, pipeline, second_version):
    client.force_login(viewer)
    missing = client.get(url("version-diff") + "?a=1&b=99")
    bad = client.get(url("version-diff") + "?a=one&b=2")
    assert missing.status_code == 404 and "onboarding has no version 99" in missing.content.decode()
    assert bad.status_code == 400 and "Pick two version numbers" in bad.content.decode()


def test_version_diff__htmx__only_the_diff(client, viewer, pipeline, second_version):
    client.force_login(viewer)
    html = client.get(url("version-diff") + "?a=2&b=1", **HTMX).content.decode()
    assert html.lstrip().startswith('<div id="diff">') and "<html" not in html
    assert "minimum_age 21 → 18" in html


# -- environments -----------------------------------------------------------------------


def test_environment_detail__override__marked_in_the_effective_config(
    client, viewer, editor, pipeline, environments
):
    # Given staging overrides the minimum age
    release_services.override_set(
        pipeline=pipeline,
        environment=environments["staging"],
        actor=editor,
        override={
            "stages": {"business_rules": {"rules": {"age_verification": {"params": {"minimum_age": 21}}}}}
        },
    )
    client.force_login(viewer)
    # When a viewer opens staging
    html = client.get(url("environment-detail", env="staging")).content.decode()
    # Then the overridden value is highlighted, the others are not
    assert (
        'class="from-override" title="/stages/business_rules/rules/age_verification/params/minimum_age'
        in html
    )
    assert "&quot;minimum_age&quot;: 21" in html and "1 value comes from the override" in html
    assert 'class="from-base"><span class="indent">' in html
    # and the override is shown read-only, with the history and no rollback buttons
    assert "readonly" in html and "Save the override" not in html
    assert "Roll back to this" not in html and "override change" in html


def test_environment_detail__not_released__empty_state(
    client, viewer, small_pipeline_document, editor, environments
):
    services.pipeline_create(
        slug="onboarding", name="Onboarding", document=small_pipeline_document, author=editor
    )
    client.force_login(viewer)
    response = client.get(url("environment-detail", env="production"))
    html = response.content.decode()
    assert response.status_code == 200 and "is not released to production yet" in html
    assert "No releases yet" in html
    assert client.get(url("environment-detail", env="moon")).status_code == 404


def test_override__editor_saves_valid_patch__new_release(client, editor, pipeline, environments):
    client.force_login(editor)
    override = {"stages": {"data_quality": {"fail_fast": False}}}
    response = client.post(
        url("environment-detail", env="development"),
        based({"override": json.dumps(override), "reason": "debugging"}, "development"),
    )
    assert response.status_code == 302
    live = release_live(pipeline, environments["development"])
    assert live.kind == "override" and live.override == override and live.reason == "debugging"
    html = client.get(response["Location"]).content.decode()
    assert "Override of development saved" in html and "&quot;fail_fast&quot;: false" in html


def test_override__broken_json__error_with_position_and_text_kept(client, editor, pipeline, environments):
    client.force_login(editor)
    before = releases_count()
    typed = '{"stages": {"data_quality": {"fail_fast": fals}}}'
    response = client.post(
        url("environment-detail", env="development"), based({"override": typed}, "development")
    )
    html = response.content.decode()
    assert response.status_code == 400 and releases_count() == before
    assert "Not valid JSON" in html and "line 1, column" in html
    assert "&quot;fail_fast&quot;: fals}}}" in html


def test_override__invalid_config__every_problem_with_its_path_and_text_kept(
    client, editor, pipeline, environments
):
    # Given an override with two mistakes
    client.force_login(editor)
    typed = json.dumps(
        {
            "stages": {
                "data_quality": {"fail_fast": "yes", "rules": {"email_format": {"class": "NoSuchRule"}}}
            }
        },
        indent=2,
    )
    # When it is saved
    response = client.post(
        url("environment-detail", env="development"), based({"override": typed, "reason": "x"}, "development")
    )
    html = response.content.decode()
    # Then nothing is saved, both problems are listed with their JSON pointers, the text stays
    assert response.status_code == 400
    assert release_live(pipeline, environments["development"]).override == {}
    assert "<code>/stages/data_quality/fail_fast</code>" in html
    assert "<code>/stages/data_quality/rules/email_format/class</code>" in html
    assert "NoSuchRule" in html and "&quot;fail_fast&quot;: &quot;yes&quot;" in html


def test_override__not_an_object__error(client, editor, pipeline):
    client.force_login(editor)
    response = client.post(
        url("environment-detail", env="development"), based({"override": "[1, 2]"}, "development")
    )
    assert response.status_code == 400 and "must be a JSON object" in response.content.decode()


def test_override__publisher_in_production_without_reason__error_beside_reason(
    client, publisher, pipeline, environments
):
    client.force_login(publisher)
    before = releases_count()
    response = client.post(
        url("environment-detail", env="production"),
        based({"override": '{"execution_settings": {"stop_on_stage_failure": false}}'}, "production"),
    )
    html = response.content.decode()
    assert response.status_code == 400 and releases_count() == before
    assert "production is protected: give a reason" in html
    assert "&quot;stop_on_stage_failure&quot;: false" in html


def test_override__editor_in_production__refused(client, editor, pipeline, environments):
    client.force_login(editor)
    before = releases_count()
    response = client.post(
        url("environment-detail", env="production"), based({"override": "{}", "reason": "x"}, "production")
    )
    assert response.status_code == 403 and releases_count() == before
    assert "Only publishers" in response.content.decode()


def test_override__empty_text__removes_the_override(client, editor, pipeline, environments):
    release_services.override_set(
        pipeline=pipeline,
        environment=environments["development"],
        actor=editor,
        override={"stages": {"data_quality": {"fail_fast": False}}},
    )
    client.force_login(editor)
    response = client.post(
        url("environment-detail", env="development"), based({"override": "  "}, "development")
    )
    assert response.status_code == 302 and release_live(pipeline, environments["development"]).override == {}


def test_rollback__editor_in_development__earlier_release_runs_again(client, editor, pipeline, environments):
    # Given development toggled after its first release
    first = release_live(pipeline, environments["development"])
    release_services.stage_toggle(
        pipeline=pipeline,
        environment=environments["development"],
        stage="business_rules",
        enabled=False,
        actor=editor,
    )
    client.force_login(editor)
    html = client.get(url("environment-detail", env="development")).content.decode()
    assert html.count("Roll back to this") == 1
    # When she rolls back to the first release
    response = client.post(
        url("release-rollback", env="development", release_id=first.pk), {"reason": "oops"}
    )
    # Then a rollback release runs the first one's config again
    assert response.status_code == 302
    live = release_live(pipeline, environments["development"])
    assert live.kind == "rollback" and live.effective_hash == first.effective_hash and live.reason == "oops"


def test_rollback__viewer__refused_nothing_changed(client, viewer, editor, pipeline, environments):
    first = release_live(pipeline, environments["development"])
    release_services.stage_toggle(
        pipeline=pipeline,
        environment=environments["development"],
        stage="business_rules",
        enabled=False,
        actor=editor,
    )
    client.force_login(viewer)
    before = releases_count()
    response = client.post(url("release-rollback", env="development", release_id=first.pk))
    assert response.status_code == 403 and releases_count() == before


def test_rollback__refused_by_the_service__error_and_question_open_with_reason_kept(
    client, publisher, pipeline, environments
):
    # Given production toggled off and on again: its first release is the config it runs now
    first = release_live(pipeline, environments["production"])
    for enabled in (False, True):
        release_services.stage_toggle(
            pipeline=pipeline,
            environment=environments["production"],
            stage="business_rules",
            enabled=enabled,
            actor=publisher,
            reason="incident",
            gate_override=True,
            authority=APPROVED,
        )
    client.force_login(publisher)
    before = releases_count()
    # When the publisher rolls back to it
    response = client.post(
        url("release-rollback", env="production", release_id=first.pk),
        {"reason": "back to the first release", "gate_override": "on"},
    )
    html = response.content.decode()
    # Then nothing changed, the error is above the history, and the question is open with her reason
    assert response.status_code == 400 and releases_count() == before
    assert "Nothing changed: production already" in html
    assert '<details class="popover" open>' in html and 'value="back to the first release"' in html


def test_rollback__release_of_another_environment__404(client, editor, pipeline, environments):
    staging = release_live(pipeline, environments["staging"])
    client.force_login(editor)
    response = client.post(url("release-rollback", env="development", release_id=staging.pk))
    assert response.status_code == 404


def test_environment_history__long__paginated_htmx_partial(client, editor, pipeline, environments):
    for i in range(16):
        release_services.stage_toggle(
            pipeline=pipeline,
            environment=environments["development"],
            stage="business_rules",
            enabled=i % 2 == 1,
            actor=editor,
        )
    client.force_login(editor)
    html = client.get(url("environment-detail", env="development") + "?page=2", **HTMX).content.decode()
    assert html.lstrip().startswith('<section class="card" id="history">') and "Page 2 of 2" in html


# -- environment diff -------------------------------------------------------------------


def test_environment_diff__default__first_against_last_released(
    client, viewer, publisher, pipeline, environments
):
    # Given production overrides a setting
    release_services.override_set(
        pipeline=pipeline,
        environment=environments["production"],
        actor=publisher,
        reason="stricter",
        override={"stages": {"business_rules": {"fail_fast": True}}},
        gate_override=True,
        authority=APPROVED,
    )
    client.force_login(viewer)
    # When the comparison is opened without choosing
    html = client.get(url("environment-diff")).content.decode()
    # Then development is compared with production
    assert "1 change from development to production" in html
    assert "Stage business_rules: fail_fast false → true." in html
    assert '<option value="development" selected>' in html and '<option value="production" selected>' in html


def test_environment_diff__same_config__no_differences_and_htmx_partial(client, viewer, pipeline):
    client.force_login(viewer)
    html = client.get(url("environment-diff") + "?a=development&b=staging", **HTMX).content.decode()
    assert html.lstrip().startswith('<div id="diff">') and "No differences" in html


def test_environment_diff__not_released_or_unknown__error(
    client, viewer, editor, small_pipeline_document, environments
):
    pipeline = services.pipeline_create(
        slug="onboarding", name="Onboarding", document=small_pipeline_document, author=editor
    )
    client.force_login(viewer)
    assert "Nothing to compare yet" in client.get(url("environment-diff")).content.decode()
    release_services.release_create(
        pipeline=pipeline,
        environment=environments["development"],
        version=pipeline.versions.get(),
        actor=editor,
    )
    response = client.get(url("environment-diff") + "?a=development&b=staging")
    assert response.status_code == 404 and "has not been released to staging" in response.content.decode()
    response = client.get(url("environment-diff") + "?a=development&b=moon")
    assert response.status_code == 400 and "There is no such environment" in response.content.decode()


# -- edits made while someone else changed the environment ---------------------------------


def test_override__environment_changed_while_editing__not_saved_changes_shown_text_kept(
    client, editor, publisher, pipeline, environments
):
    # Given an editor who opened development's page, then a colleague who turned a rule off there
    client.force_login(editor)
    page = client.get(url("environment-detail", env="development")).content.decode()
    seen = re.search(r'name="base_revision" value="([^"]*)"', page).group(1)
    release_services.rule_toggle(
        pipeline=pipeline,
        environment=environments["development"],
        stage="data_quality",
        rule="email_format",
        enabled=False,
        actor=publisher,
    )
    releases = releases_count()
    typed = '{"stages": {"data_quality": {"timeout_seconds": 30}}}'
    # When she saves her override from the page she opened
    response = client.post(
        url("environment-detail", env="development"),
        {"override": typed, "reason": "slow", "base_revision": seen},
    )
    html = response.content.decode()
    # Then nothing is saved; the page says what changed, keeps her text, and is now based on what runs
    assert response.status_code == 412 and releases_count() == releases
    assert "Not saved: development changed while you were editing" in html
    assert "Rule email_format: enabled set to false." in html and "by pat" in html
    assert "timeout_seconds&quot;: 30" in html
    now = re.search(r'name="base_revision" value="([^"]*)"', html).group(1)
    assert now != seen and now == based({}, "development")["base_revision"]
    # When she saves again from there / Then it is saved on top of her colleague's change
    again = client.post(
        url("environment-detail", env="development"),
        {"override": typed, "reason": "slow", "base_revision": now},
    )
    assert again.status_code == 302
    stages = effective_config(pipeline, environments["development"]).document["stages"]["data_quality"]
    assert stages["timeout_seconds"] == 30


def test_toggle__environment_changed_since_the_matrix_was_drawn__refused_with_what_changed(
    client, editor, publisher, pipeline, environments
):
    client.force_login(editor)
    seen = based({}, "development")["base_revision"]
    release_services.stage_toggle(
        pipeline=pipeline,
        environment=environments["development"],
        stage="business_rules",
        enabled=False,
        actor=publisher,
    )
    releases = releases_count()
    response = client.post(
        url("pipeline-toggle"),
        {
            "environment": "development",
            "stage": "data_quality",
            "rule": "email_format",
            "enabled": "false",
            "base_revision": seen,
        },
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 412 and releases_count() == releases
    assert "development now runs release" in html and "Stage business_rules: enabled true → false." in html
    # the matrix shows what runs now, so the next toggle is based on it
    assert f'name="base_revision" value="{based({}, "development")["base_revision"]}"' in html


def test_toggle__form_without_revision__refused_428_nothing_changed(client, editor, pipeline, environments):
    client.force_login(editor)
    releases = releases_count()
    response = client.post(
        url("pipeline-toggle"),
        {"environment": "development", "stage": "business_rules", "enabled": "false"},
        **HTMX,
    )
    assert response.status_code == 428 and releases_count() == releases
