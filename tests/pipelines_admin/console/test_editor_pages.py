"""The config editing pages: the whole config as YAML/JSON, a rule's generated form,
a new rule, a stage's settings, removing and moving rules."""

import json

import pytest
import yaml
from django.urls import reverse

from pipelines_admin.configs import services as config_services
from pipelines_admin.configs.models import ConfigVersion
from pipelines_admin.demo.pipelines import example_document
from tests.pipelines_admin.console.test_schema_forms import submitted

pytestmark = pytest.mark.django_db

SLUG = "onboarding"


@pytest.fixture
def pipeline(editor, environments):
    return config_services.pipeline_create(
        slug=SLUG, name="Onboarding", author=editor, document=example_document("customer_onboarding.json")
    )


def url(name, **kwargs):
    return reverse(f"console:{name}", kwargs={"slug": SLUG, **kwargs})


def latest(pipeline):
    return pipeline.versions.order_by("-number").first()


def someone_else_saves(pipeline, editor, change):
    document = latest(pipeline).document
    change(document)
    return config_services.config_version_create(
        pipeline=pipeline,
        document=document,
        base_version=latest(pipeline),
        author=editor,
        message="someone else's change",
    )


def credit_url():
    return url("rule-edit", stage="business_rules", rule="credit_score_check")


class FormData(dict):
    """Form fields as name -> list of values (the test client posts each value of a list)."""

    def setlist(self, name, values):
        self[name] = list(values)


def form_data(html, form_id, **changes) -> FormData:
    """What the browser posts for the form `form_id` in `html`, with changes."""
    start = html.index(f'id="{form_id}"')
    data = submitted(html[start : html.index("</form>", start)], **changes)
    return FormData((name, data.getlist(name)) for name in data)


def rule_form_data(client, page_url, **changes) -> FormData:
    """What the browser posts for the page's rule (or stage) form as rendered, with changes."""
    html = client.get(page_url).content.decode()
    return form_data(html, "rule-form" if 'id="rule-form"' in html else "stage-form", **changes)


# -- the whole config --------------------------------------------------------------------


def test_config_edit__get__latest_as_yaml_with_stages_and_rules_linked(client, editor, pipeline):
    # Given an editor on the edit page
    client.force_login(editor)
    response = client.get(url("config-edit"))
    html = response.content.decode()
    # Then the textarea holds the latest version as YAML, and every rule links to its editor
    assert response.status_code == 200
    assert response.context["text"] == yaml.safe_dump(
        latest(pipeline).document, sort_keys=False, allow_unicode=True
    )
    assert 'name="base_version" value="1"' in html
    assert url("rule-edit", stage="compliance", rule="pep_screening") in html
    assert url("stage-edit", stage="compliance") in html and url("rule-add", stage="compliance") in html
    assert 'aria-current="page">Edit config' in html


def test_config_edit__json_format__text_is_json(client, editor, pipeline):
    client.force_login(editor)
    response = client.get(url("config-edit") + "?format=json")
    assert json.loads(response.context["text"]) == latest(pipeline).document


def test_config_edit__check_invalid_config__every_problem_listed_with_its_path(client, editor, pipeline):
    # Given a config with a bad stage setting and a bad param
    client.force_login(editor)
    document = latest(pipeline).document
    document["stages"]["compliance"]["fail_fast"] = "sometimes"
    document["stages"]["business_rules"]["rules"]["credit_score_check"]["params"]["minimum_score"] = 2000
    # When it is checked (htmx)
    response = client.post(
        url("config-edit"),
        {"base_version": 1, "format": "json", "action": "check", "text": json.dumps(document)},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    # Then the result lists both problems with their paths, and nothing was saved
    assert html.startswith('\n    <div id="raw-result"') or 'id="raw-result"' in html[:200]
    assert "2 problems" in html
    assert "/stages/compliance/fail_fast" in html
    assert "/stages/business_rules/rules/credit_score_check/params/minimum_score" in html
    assert pipeline.versions.count() == 1


def test_config_edit__broken_yaml__line_and_column_and_text_kept(client, editor, pipeline):
    client.force_login(editor)
    text = "stages:\n  data_quality:\n    rules: [unclosed\n"
    response = client.post(
        url("config-edit"),
        {"base_version": 1, "format": "yaml", "action": "save", "message": "broken", "text": text},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Not valid YAML" in html and "line 4, column 1" in html
    assert response.context["text"] == text and pipeline.versions.count() == 1


def test_config_edit__yaml_key_given_twice__reported_not_silently_dropped(client, editor, pipeline):
    client.force_login(editor)
    text = yaml.safe_dump(latest(pipeline).document, sort_keys=False) + "stages: {}\n"
    response = client.post(
        url("config-edit"), {"base_version": 1, "format": "yaml", "action": "check", "text": text}
    )
    assert "the key &#x27;stages&#x27; appears twice" in response.content.decode()


def test_config_edit__save_valid_change__new_version_and_back_to_the_pipeline(client, editor, pipeline):
    # Given an editor who changes the AML rule's threshold in the YAML
    client.force_login(editor)
    document = latest(pipeline).document
    document["stages"]["compliance"]["rules"]["aml_risk_assessment"]["params"]["max_risk_score"] = 0.6
    # When she saves it with a message
    response = client.post(
        url("config-edit"),
        {
            "base_version": 1,
            "format": "yaml",
            "action": "save",
            "message": "Lower the AML limit",
            "text": yaml.safe_dump(document, sort_keys=False),
        },
        follow=True,
    )
    # Then version 2 exists with her change, and the pipeline page says so
    version = latest(pipeline)
    assert version.number == 2 and version.document == document and version.message == "Lower the AML limit"
    assert response.redirect_chain[-1][0] == url("pipeline-detail")
    assert "Saved version 2: Lower the AML limit" in response.content.decode()


def test_config_edit__no_message__asked_for_one_and_text_kept(client, editor, pipeline):
    client.force_login(editor)
    text = json.dumps(latest(pipeline).document | {"version": "9"})
    response = client.post(
        url("config-edit"),
        {"base_version": 1, "format": "json", "action": "save", "message": " ", "text": text},
    )
    assert response.status_code == 400 and "every version has a message" in response.content.decode()
    assert response.context["text"] == text and pipeline.versions.count() == 1


def test_config_edit__stale_base__conflict_with_diff_text_kept_nothing_overwritten(client, editor, pipeline):
    # Given an editor who started from version 1, and someone who saved version 2 meanwhile
    client.force_login(editor)
    mine = latest(pipeline).document
    mine["version"] = "3.0.0"
    someone_else_saves(pipeline, editor, lambda d: d["stages"]["compliance"].update(timeout_seconds=50))
    # When she saves
    text = json.dumps(mine, indent=2)
    response = client.post(
        url("config-edit"),
        {"base_version": 1, "format": "json", "action": "save", "message": "New label", "text": text},
    )
    html = response.content.decode()
    # Then nothing is saved, the page shows what changed since her base, and her text is intact
    assert response.status_code == 409 and pipeline.versions.count() == 2
    assert "Version 2 was saved while you were editing" in html
    assert "Stage compliance: timeout_seconds 45 → 50." in html
    assert 'class="d-add">+      &quot;timeout_seconds&quot;: 50,' in html
    assert response.context["text"] == text


def test_config_edit__merge_after_conflict__both_changes_then_saved(client, editor, pipeline):
    # Given a conflict as above
    client.force_login(editor)
    mine = latest(pipeline).document
    mine["version"] = "3.0.0"
    someone_else_saves(pipeline, editor, lambda d: d["stages"]["compliance"].update(timeout_seconds=50))
    # When she applies her change to version 2
    response = client.post(
        url("config-edit"),
        {
            "base_version": 1,
            "merge_into": 2,
            "format": "json",
            "action": "merge",
            "message": "New label",
            "text": json.dumps(mine),
        },
    )
    # Then the text holds both changes and is based on version 2
    merged = json.loads(response.context["text"])
    assert merged["version"] == "3.0.0" and merged["stages"]["compliance"]["timeout_seconds"] == 50
    assert response.context["base"].number == 2
    assert "version &quot;2.1.0&quot; → &quot;3.0.0&quot;" in response.content.decode()
    # And saving it works
    client.post(
        url("config-edit"),
        {
            "base_version": 2,
            "format": "json",
            "action": "save",
            "message": "New label",
            "text": response.context["text"],
        },
    )
    assert latest(pipeline).number == 3 and latest(pipeline).document == merged


def test_config_edit__switch_to_json__edits_kept(client, editor, pipeline):
    client.force_login(editor)
    document = latest(pipeline).document
    document["version"] = "edited"
    response = client.post(
        url("config-edit"),
        {
            "base_version": 1,
            "format": "yaml",
            "action": "to_json",
            "text": yaml.safe_dump(document, sort_keys=False),
        },
    )
    assert response.context["fmt"] == "json" and json.loads(response.context["text"]) == document


# -- a rule ------------------------------------------------------------------------------


def test_rule_edit__get__form_from_params_schema_with_the_docstring(client, editor, pipeline):
    client.force_login(editor)
    html = client.get(credit_url()).content.decode()
    # The minimum score is a field with its bounds, the model a select, the class's docstring beside them
    assert 'name="p.minimum_score" id="f-p-minimum_score" value="650"' in html
    assert '<span class="sf-bounds">300 to 850</span>' in html
    assert '<option value="FICO_8" selected>FICO_8</option>' in html
    assert "asks the credit bureau for the applicant" in html
    # And the settings hold retries and dependencies
    assert 'name="s.retry.max_attempts"' in html
    assert '<input type="checkbox" name="s.dependencies" value="age_verification" checked>' in html


def test_rule_validate__out_of_bounds__error_beside_the_field_out_of_band(client, editor, pipeline):
    # Given the credit rule's form as rendered, with a minimum typed above the maximum
    client.force_login(editor)
    data = rule_form_data(client, credit_url(), p__minimum_score="900")
    # When it is validated while typing
    response = client.post(url("rule-validate", stage="business_rules"), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    # Then the error comes back in the field's error container, swapped out of band
    assert response.status_code == 200
    assert (
        '<div id="err-f-p-minimum_score" class="field-errors" hx-swap-oob="true"><p class="error">'
        "Minimum score must be at most 850; it is 900.</p></div>"
    ) in html
    assert '<div id="err-f-p-score_model" class="field-errors" hx-swap-oob="true"></div>' in html
    assert "1 problem" in html and 'name="p.minimum_score"' not in html  # the inputs are not replaced


def test_rule_edit__save_changed_param__new_version_with_only_that_change(client, editor, pipeline):
    # Given the form as rendered with a new minimum score
    client.force_login(editor)
    data = rule_form_data(client, credit_url(), p__minimum_score="680", message="Raise the minimum to 680")
    before = latest(pipeline).document
    # When it is saved
    response = client.post(credit_url(), data)
    # Then version 2 differs from version 1 by that one param, and the user is back on the pipeline
    assert response.status_code == 302 and response["Location"] == url("pipeline-detail")
    after = latest(pipeline).document
    before["stages"]["business_rules"]["rules"]["credit_score_check"]["params"]["minimum_score"] = 680
    assert after == before and latest(pipeline).message == "Raise the minimum to 680"


def test_rule_edit__untouched_form_saved__nothing_changed_and_said_so(client, editor, pipeline):
    client.force_login(editor)
    data = rule_form_data(
        client, url("rule-edit", stage="post_processing", rule="risk_score_calculation"), message="no change"
    )
    response = client.post(url("rule-edit", stage="post_processing", rule="risk_score_calculation"), data)
    assert response.status_code == 400 and "Nothing changed" in response.content.decode()
    assert pipeline.versions.count() == 1


def test_rule_edit__invalid_value__not_saved_error_beside_field_value_kept(client, editor, pipeline):
    client.force_login(editor)
    data = rule_form_data(client, credit_url(), p__minimum_score="9000", message="oops")
    response = client.post(credit_url(), data)
    html = response.content.decode()
    assert response.status_code == 400 and pipeline.versions.count() == 1
    assert 'value="9000"' in html
    assert '<div id="err-f-p-minimum_score" class="field-errors"><p class="error">' in html
    assert 'value="oops"' in html  # the message too


def test_rule_edit__negative_minimum_age__error_names_the_field_by_its_label(client, editor, pipeline):
    # Given the age rule's form as rendered, with a minimum age of -1
    client.force_login(editor)
    age_url = url("rule-edit", stage="business_rules", rule="age_verification")
    data = rule_form_data(client, age_url, p__minimum_age="-1", message="Younger applicants")
    # When it is saved
    response = client.post(age_url, data)
    html = response.content.decode()
    # Then it is refused, the error beside the field names it as its label does, not by its key
    assert response.status_code == 400 and pipeline.versions.count() == 1
    start = html.index('id="err-f-p-minimum_age"')
    errors = html[start : html.index("</div>", start)]
    assert "Minimum age must be at least 0; it is -1." in errors
    assert "minimum_age" not in errors.replace('id="err-f-p-minimum_age"', "")
    # and the status beside the save button counts the problem
    assert "1 problem: see the marked field." in html and "No problems." not in html


def test_rule_validate__nested_setting_out_of_bounds__named_by_its_label(client, editor, pipeline):
    # Given the credit rule with 50 retry attempts typed (at most 20)
    client.force_login(editor)
    data = rule_form_data(client, credit_url(), s__retry__max_attempts="50")
    # When it is validated while typing
    html = client.post(
        url("rule-validate", stage="business_rules"), data, HTTP_HX_REQUEST="true"
    ).content.decode()
    # Then the error beside the field names it by its label
    start = html.index('id="err-f-s-retry-max_attempts"')
    assert "Attempts must be at most 20; it is 50." in html[start : html.index("</div>", start)]


def test_rule_edit__form_valid_but_no_message__status_says_not_saved(client, editor, pipeline):
    # Given a valid change of the age rule saved without a message
    client.force_login(editor)
    age_url = url("rule-edit", stage="business_rules", rule="age_verification")
    data = rule_form_data(client, age_url, p__minimum_age="21")
    response = client.post(age_url, data)
    html = response.content.decode()
    # Then the message is asked for, and the status beside the save button says it was not saved
    assert response.status_code == 400 and "every version has a message" in html
    status = html[html.index('id="validation-status"') :]
    status = status[: status.index("</p>")]
    assert "No problems" not in status and "Not saved" in status
    # When the user then changes another field (validated while typing), the message still empty
    data = form_data(html, "rule-form", p__minimum_age="20")
    html = client.post(
        url("rule-validate", stage="business_rules"), data, HTTP_HX_REQUEST="true"
    ).content.decode()
    # Then the status still says what is missing, and the message's error stays
    assert "No problems" not in html and "add a message" in html
    assert 'id="err-message"' in html and "every version has a message" in html
    # When the message is typed
    data.setlist("message", ["Minimum age 20"])
    html = client.post(
        url("rule-validate", stage="business_rules"), data, HTTP_HX_REQUEST="true"
    ).content.decode()
    # Then the status is clear and the message's error goes
    assert "No problems." in html and "every version has a message" not in html


def test_rule_edit__stale_base__status_says_not_saved_while_typing(client, editor, pipeline):
    # Given the credit form refused because version 2 was saved meanwhile
    client.force_login(editor)
    data = rule_form_data(client, credit_url(), p__minimum_score="700", message="Raise to 700")
    someone_else_saves(
        pipeline,
        editor,
        lambda d: d["stages"]["business_rules"]["rules"]["credit_score_check"]["params"].update(
            score_model="FICO_9"
        ),
    )
    html = client.post(credit_url(), data).content.decode()
    status = html[html.index('id="validation-status"') :]
    assert (
        "No problems" not in status[: status.index("</p>")] and "Not saved" in status[: status.index("</p>")]
    )
    # When the user goes on typing in the form as shown
    data = form_data(html, "rule-form", p__minimum_score="710")
    html = client.post(
        url("rule-validate", stage="business_rules"), data, HTTP_HX_REQUEST="true"
    ).content.decode()
    # Then the status still says it is not saved yet
    assert "No problems" not in html and "version 2" in html


def test_rule_edit__settings__retry_timeout_and_dependencies_saved(client, editor, pipeline):
    # Given the credit rule's settings changed: a timeout, two attempts, and no more same-stage dependency
    client.force_login(editor)
    data = rule_form_data(
        client,
        credit_url(),
        s__timeout_seconds="2.5",
        s__retry__max_attempts="2",
        s__retry__retry_on=["timeout", "error"],
        s__severity="warning",
        message="Retry the bureau",
    )
    data.setlist("s.dependencies", [])
    # When saved
    client.post(credit_url(), data)
    # Then the rule has them
    rule = latest(pipeline).document["stages"]["business_rules"]["rules"]["credit_score_check"]
    assert rule["timeout_seconds"] == 2.5 and rule["severity"] == "warning"
    assert rule["retry"] == {"max_attempts": 2, "retry_on": ["timeout", "error"]}
    assert "dependencies" not in rule and rule["cross_stage_dependencies"] == ["kyc_identity_verification"]


def test_rule_edit__bad_condition__error_beside_the_when_field(client, editor, pipeline):
    client.force_login(editor)
    data = rule_form_data(client, credit_url(), s__when="record.age >>> 3")
    response = client.post(url("rule-validate", stage="business_rules"), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    start = html.index('id="err-f-s-when"')
    assert '<p class="error">' in html[start : html.index("</div>", start)]


def test_rule_edit__stale_base__conflict_values_kept_then_merged_and_saved(client, editor, pipeline):
    # Given the credit form rendered from version 1, and version 2 saved meanwhile (a new score model)
    client.force_login(editor)
    data = rule_form_data(client, credit_url(), p__minimum_score="700", message="Raise to 700")
    someone_else_saves(
        pipeline,
        editor,
        lambda d: d["stages"]["business_rules"]["rules"]["credit_score_check"]["params"].update(
            score_model="FICO_9"
        ),
    )
    # When the user saves
    response = client.post(credit_url(), data)
    html = response.content.decode()
    # Then nothing is saved, the change in between is shown, and the typed value is still there
    assert response.status_code == 409 and pipeline.versions.count() == 2
    assert "Rule credit_score_check: score_model &quot;FICO_8&quot; → &quot;FICO_9&quot;." in html
    assert 'value="700"' in html
    # When the user applies the change to version 2
    data.setlist("action", ["merge"])
    data.setlist("merge_into", ["2"])
    response = client.post(credit_url(), data)
    # Then the form is based on version 2, with both changes
    assert response.context["base"].number == 2
    html = response.content.decode()
    assert 'value="700"' in html and '<option value="FICO_9" selected>' in html
    # And saving it makes version 3 with both
    data = form_data(html, "rule-form", message="Raise to 700")
    client.post(credit_url(), data)
    params = latest(pipeline).document["stages"]["business_rules"]["rules"]["credit_score_check"]["params"]
    assert (
        latest(pipeline).number == 3 and params["minimum_score"] == 700 and params["score_model"] == "FICO_9"
    )


def test_rule_edit__unknown_rule__404(client, editor, pipeline):
    client.force_login(editor)
    assert client.get(url("rule-edit", stage="business_rules", rule="nope")).status_code == 404
    assert client.get(url("rule-edit", stage="nope", rule="credit_score_check")).status_code == 404


def test_rule_edit__viewer__can_look_but_save_refused(client, viewer, pipeline):
    client.force_login(viewer)
    html = client.get(credit_url()).content.decode()
    assert "not change it" in html
    data = rule_form_data(client, credit_url(), p__minimum_score="680", message="sneaky")
    response = client.post(credit_url(), data)
    assert response.status_code == 403 and "does not allow" in response.content.decode()
    assert pipeline.versions.count() == 1


# -- adding, removing, moving ------------------------------------------------------------


def test_rule_add__class_chosen__generated_form_with_a_free_id(client, editor, pipeline):
    client.force_login(editor)
    html = client.get(url("rule-add", stage="business_rules")).content.decode()
    assert "CreditScoreValidationRule" in html and 'id="rule-form"' not in html
    response = client.get(
        url("rule-add", stage="business_rules") + "?class=CreditScoreValidationRule", HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="new-rule">')
    assert 'name="rule_id" value="credit_score_validation"' in html and 'name="p.minimum_score"' in html


def test_rule_add__saved__rule_at_its_position_in_a_new_version(client, editor, pipeline):
    # Given the new-rule form for an age check before the credit check
    client.force_login(editor)
    data = rule_form_data(
        client,
        url("rule-add", stage="business_rules") + "?class=AgeVerificationRule",
        rule_id="adult_check",
        p__minimum_age="21",
        position="1",
        message="Adults only",
    )
    # When saved
    response = client.post(url("rule-add", stage="business_rules"), data)
    # Then the rule is there, with only what was filled in
    assert response.status_code == 302
    rules = latest(pipeline).document["stages"]["business_rules"]["rules"]
    assert list(rules)[:3] == ["age_verification", "adult_check", "credit_score_check"]
    assert rules["adult_check"] == {"class": "AgeVerificationRule", "params": {"minimum_age": 21}}


def test_rule_add__id_taken__error_beside_the_id(client, editor, pipeline):
    client.force_login(editor)
    data = rule_form_data(
        client,
        url("rule-add", stage="business_rules") + "?class=AgeVerificationRule",
        rule_id="pep_screening",
        message="dup",
    )
    response = client.post(url("rule-validate", stage="business_rules"), data, HTTP_HX_REQUEST="true")
    assert (
        '<div id="err-f-rule_id" class="field-errors" hx-swap-oob="true"><p class="error">There is already a '
        "rule pep_screening (in stage compliance)"
    ) in response.content.decode()
    response = client.post(url("rule-add", stage="business_rules"), data)
    assert response.status_code == 400 and pipeline.versions.count() == 1


def test_rule_add__required_param_missing__error_beside_it(client, editor, pipeline):
    client.force_login(editor)
    data = rule_form_data(
        client, url("rule-add", stage="data_quality") + "?class=TrimWhitespaceRule", message="trim"
    )
    response = client.post(url("rule-validate", stage="data_quality"), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    start = html.index('id="err-f-p-field_name"')
    errors = html[start : html.index("</div>", start)]
    assert '<p class="error">Field is required.</p>' in errors and "field_name&#x27;" not in errors


def test_rule_remove__others_depend_on_it__refused_with_the_problems(client, editor, pipeline):
    client.force_login(editor)
    response = client.post(
        url("rule-remove", stage="data_quality", rule="required_personal_info"),
        {"base_version": 1, "remove_message": "not needed"},
    )
    html = response.content.decode()
    assert response.status_code == 400 and pipeline.versions.count() == 1
    assert (
        "Not removed" in html and "/stages/data_quality/rules/email_format_validation/dependencies/0" in html
    )


def test_rule_remove__nothing_depends_on_it__new_version_without_it(client, editor, pipeline):
    client.force_login(editor)
    response = client.post(
        url("rule-remove", stage="post_processing", rule="notification_dispatch"),
        {"base_version": 1, "remove_message": "Notifications move to the CRM"},
    )
    assert response.status_code == 302
    assert "notification_dispatch" not in latest(pipeline).document["stages"]["post_processing"]["rules"]
    assert latest(pipeline).message == "Notifications move to the CRM"


def test_rule_remove__no_message__asked_for_one(client, editor, pipeline):
    client.force_login(editor)
    response = client.post(
        url("rule-remove", stage="post_processing", rule="notification_dispatch"),
        {"base_version": 1, "remove_message": ""},
    )
    assert response.status_code == 400 and "every version has a message" in response.content.decode()


def test_rule_move__down__new_version_with_the_new_order(client, editor, pipeline):
    client.force_login(editor)
    client.post(
        url("rule-move", stage="compliance", rule="kyc_identity_verification"),
        {"base_version": 1, "direction": "down"},
    )
    assert list(latest(pipeline).document["stages"]["compliance"]["rules"])[:2] == [
        "ofac_sanctions_screening",
        "kyc_identity_verification",
    ]


def test_rule_move__posted__back_on_the_editor_at_the_stage_with_the_outcome(client, editor, pipeline):
    # Given an editor on the stages and rules overview
    client.force_login(editor)
    # When she moves a rule a way that does not exist
    response = client.post(
        url("rule-move", stage="compliance", rule="kyc_identity_verification"),
        {"base_version": 1, "direction": "sideways"},
    )
    assert response.status_code == 400
    # When she moves it down
    response = client.post(
        url("rule-move", stage="compliance", rule="kyc_identity_verification"),
        {"base_version": 1, "direction": "down"},
        follow=True,
    )
    # Then she is back at the stage, told what happened to the rule
    assert response.redirect_chain[-1][0] == url("config-edit") + "#stage-compliance"
    html = response.content.decode()
    assert (
        "rule kyc_identity_verification moved down" in html
        or "Rule kyc_identity_verification was not moved" in html
    )


# -- a stage -----------------------------------------------------------------------------


def test_stage_edit__settings_changed__saved(client, editor, pipeline):
    client.force_login(editor)
    data = rule_form_data(
        client,
        url("stage-edit", stage="compliance"),
        s__fail_fast="on",
        s__max_parallel_rules="2",
        s__when='record.country == "US"',
        message="US only",
    )
    response = client.post(url("stage-edit", stage="compliance"), data)
    assert response.status_code == 302
    stage = latest(pipeline).document["stages"]["compliance"]
    assert (
        stage["fail_fast"] is True
        and stage["max_parallel_rules"] == 2
        and stage["when"] == 'record.country == "US"'
    )
    assert stage["rules"] == example_document("customer_onboarding.json")["stages"]["compliance"]["rules"]


def test_stage_validate__zero_timeout__error_beside_the_field(client, editor, pipeline):
    client.force_login(editor)
    data = rule_form_data(client, url("stage-edit", stage="compliance"), s__timeout_seconds="0")
    response = client.post(url("stage-validate", stage="compliance"), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    start = html.index('id="err-f-s-timeout_seconds"')
    assert "must be greater than 0" in html[start : html.index("</div>", start)]


def test_stage_edit__unknown_stage__404(client, editor, pipeline):
    client.force_login(editor)
    assert client.get(url("stage-edit", stage="nope")).status_code == 404


def test_editor_pages__every_page__no_inline_script(client, editor, pipeline):
    client.force_login(editor)
    for page in (
        url("config-edit"),
        credit_url(),
        url("stage-edit", stage="compliance"),
        url("rule-add", stage="compliance") + "?class=NotificationRule",
    ):
        html = client.get(page).content.decode()
        assert "<script>" not in html and " hx-on" not in html and "onclick" not in html
    assert ConfigVersion.objects.count() == 1
