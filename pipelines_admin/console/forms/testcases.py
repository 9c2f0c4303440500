"""Forms of the test case pages: a test case (its application and what it expects) and
the choice of config a suite runs against."""

import json

from django import forms

from pipelines_admin.console.forms.pipeline_pages import OverrideField, environment_field
from pipelines_admin.console.forms.trial_runs import JSONObjectField
from pipelines_admin.core.json_data import UnreadableJSON, parse_json_text
from pipelines_admin.testcases.expectations import OUTCOMES, STATUSES

RULE_PREFIX = "rule:"


class ExpectedFieldsField(forms.CharField):
    """A JSON list of field checks: [{"field": "customer_id", "exists": true}, ...]."""

    widget = forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "class": "code"})

    def to_python(self, value):
        text = super().to_python(value)
        if not text or not text.strip():
            return []
        try:
            parsed = parse_json_text(text)
        except UnreadableJSON as exc:
            raise forms.ValidationError(str(exc)) from None
        if not isinstance(parsed, list):
            raise forms.ValidationError(
                'A JSON list: [{"field": "customer_id", "exists": true}, {"field": "state", "equals": "NY"}].'
            )
        return parsed


#: what the expected decisions that need saying mean, in the form's choice
STATUS_CHOICE_LABELS = {
    "review": "review (nothing failed; a rule referred it to a person)",
    "undecided": "undecided (a check did not run)",
}


class CaseForm(forms.Form):
    """One field per rule of the pipeline's latest version: the outcome the case expects
    of it, or nothing."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    record = JSONObjectField(label="Application (JSON)")
    status = forms.ChoiceField(
        label="Expected decision",
        choices=[(s, STATUS_CHOICE_LABELS.get(s, s)) for s in STATUSES],
    )
    fields_expected = ExpectedFieldsField(
        label="Expected output fields",
        required=False,
        help_text='Optional, JSON: [{"field": "customer_id", "exists": true}, {"field": "state", "equals": "NY"}]. '
        "A dotted path reads nested fields of the data after the rules.",
    )

    def __init__(self, *args, document: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.rule_groups = []
        for stage, body in document.get("stages", {}).items():
            names = []
            for rule in body.get("rules", {}):
                name = f"{RULE_PREFIX}{stage}/{rule}"
                self.fields[name] = forms.ChoiceField(
                    label=rule, required=False, choices=[("", "any outcome")] + [(o, o) for o in OUTCOMES]
                )
                names.append(name)
            self.rule_groups.append((stage, names))

    @property
    def rule_rows(self):
        return [(stage, [self[name] for name in names]) for stage, names in self.rule_groups]

    def expectation(self) -> dict:
        data = self.cleaned_data
        expected: dict = {"status": data["status"]}
        rules = []
        for name, value in data.items():
            if name.startswith(RULE_PREFIX) and value:
                stage, _, rule = name.removeprefix(RULE_PREFIX).partition("/")
                rules.append({"stage": stage, "rule": rule, "outcome": value})
        if rules:
            expected["rules"] = rules
        if data["fields_expected"]:
            expected["fields"] = data["fields_expected"]
        return expected

    @staticmethod
    def initial_from(name: str, description: str, record: dict, expected: dict) -> dict:
        initial = {
            "name": name,
            "description": description,
            "status": expected.get("status"),
            "record": json.dumps(record, indent=2, ensure_ascii=False),
            "fields_expected": json.dumps(expected["fields"], indent=2, ensure_ascii=False)
            if expected.get("fields")
            else "",
        }
        for item in expected.get("rules", []):
            initial[f"{RULE_PREFIX}{item['stage']}/{item['rule']}"] = item["outcome"]
        return initial


class SuiteRunForm(forms.Form):
    """Run the test cases: against an environment's live config, or a version (with that
    environment's override), or a proposed override."""

    environment = environment_field(label="Environment")
    version = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Config")
    override = OverrideField(required=False, widget=forms.HiddenInput)
    use_override = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, pipeline, **kwargs):
        super().__init__(*args, **kwargs)
        numbers = list(pipeline.versions.order_by("-number").values_list("number", flat=True))
        self.fields["version"].choices = [("", "its live config")] + [
            (n, f"v{n} with its override") for n in numbers
        ]
