"""Forms of the pipeline pages: toggles, releases, rollbacks, overrides, diff pickers.

They only parse and check the shape of the input; whether the user may do it, and
whether the result is a valid config, is for the services to say."""

from django import forms

from pipelines_admin.configs.models import Environment
from pipelines_admin.core.json_data import UnreadableJSON, parse_json_text, unstorable

REASON_MAX = 1000


class ReasonField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", REASON_MAX)
        kwargs.setdefault("strip", True)
        super().__init__(**kwargs)


def gate_override_field():
    return forms.BooleanField(
        required=False,
        label="Release without a passing test suite",
        help_text="Opens a change request: it needs a second publisher's approval before it applies.",
    )


def environment_field(**kwargs):
    return forms.ModelChoiceField(
        queryset=Environment.objects.all(),
        to_field_name="name",
        empty_label=None,
        error_messages={"invalid_choice": "There is no such environment."},
        **kwargs,
    )


class ToggleForm(forms.Form):
    """Turn a stage (no rule given) or one rule of it on or off in an environment."""

    environment = environment_field()
    stage = forms.CharField(max_length=200)
    rule = forms.CharField(max_length=200, required=False)
    enabled = forms.TypedChoiceField(choices=[("true", "on"), ("false", "off")], coerce=lambda v: v == "true")
    reason = ReasonField()
    gate_override = gate_override_field()
    disable_dependents = forms.BooleanField(required=False, label="Also turn off the rules that depend on it")
    base_revision = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)


class ReleaseForm(forms.Form):
    """Release a version to an environment. Every environment is accepted (the service
    refuses those the user may not change); only the ones they may change are offered,
    the first of them that does not run the version yet chosen (``running``: the names
    of the environments where it is live)."""

    environment = environment_field(label="Environment")
    reason = ReasonField(
        label="Reason",
        widget=forms.TextInput(attrs={"placeholder": "Why? (required for protected environments)"}),
    )
    gate_override = gate_override_field()

    def __init__(self, *args, allowed=None, version=None, running=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.allowed = list(allowed) if allowed is not None else list(Environment.objects.all())
        self.running = set(running)
        self.pending = [e for e in self.allowed if e.name not in self.running]
        if allowed is not None:
            self.fields["environment"].widget.choices = [
                (e.name, self._choice_label(e, version)) for e in self.allowed
            ]
        if self.pending:
            self.fields["environment"].initial = self.pending[0].name

    @property
    def runs_everywhere(self) -> bool:
        """The version runs in every environment, not only in those the user may change."""
        return self.running >= set(Environment.objects.values_list("name", flat=True))

    def everywhere_already(self, version) -> str:
        """When ``version`` runs in every environment the user may release to, that in
        words (offered instead of a release that would change nothing); else ""."""
        if self.pending or not self.allowed:
            return ""
        if self.runs_everywhere:
            return f"v{version.number} already runs in every environment."
        names = [e.name for e in self.allowed]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        return f"v{version.number} already runs in every environment you may release to ({listed})."

    def _choice_label(self, environment, version) -> str:
        notes = (["protected"] if environment.protected else []) + (
            [f"runs v{version.number}" if version is not None else "runs it"]
            if environment.name in self.running
            else []
        )
        return f"{environment.name} ({', '.join(notes)})" if notes else environment.name


class RollbackForm(forms.Form):
    reason = ReasonField(label="Reason")
    gate_override = gate_override_field()


class OverrideField(forms.CharField):
    """A textarea holding a JSON merge patch; empty means no override."""

    widget = forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "code"})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if not text or not text.strip():
            return {}
        try:
            parsed = parse_json_text(text)
        except UnreadableJSON as exc:
            raise forms.ValidationError(str(exc)) from None
        if not isinstance(parsed, dict):
            raise forms.ValidationError(
                'The override must be a JSON object (a merge patch): { "stages": ... }.'
            )
        problem = unstorable(parsed)
        if problem:
            raise forms.ValidationError(f"The override cannot be stored: {problem}.")
        return parsed


class OverrideForm(forms.Form):
    ACTIONS = (("save", "save"), ("test", "run the test cases on it"), ("impact", "analyse its impact"))

    override = OverrideField(label="Override (JSON merge patch)")
    reason = ReasonField(label="Reason", widget=forms.TextInput(attrs={"placeholder": "Why this change?"}))
    gate_override = gate_override_field()
    action = forms.ChoiceField(choices=ACTIONS, required=False)
    base_revision = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)


class VersionDiffForm(forms.Form):
    a = forms.IntegerField(min_value=1, label="From version")
    b = forms.IntegerField(min_value=1, label="To version")


class EnvironmentDiffForm(forms.Form):
    a = environment_field(label="From environment")
    b = environment_field(label="To environment")
