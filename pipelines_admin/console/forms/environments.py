"""Forms of the Environments pages: a new environment, an environment's settings, a
service binding and its removal.

They only parse and check the shape of what is typed; whether the user may do it, and
whether it is valid for the engine and for the pipelines live there, is for the
services to say (their field errors are put back beside the fields)."""

from django import forms

from pipelines_admin.configs.models import INTERFACE_NAMES, ServiceBinding
from pipelines_admin.console.forms.pipeline_pages import ReasonField

POSITION_HELP = "Environments are listed by it, smallest first."


def position_field(**kwargs):
    return forms.IntegerField(label="Order", min_value=0, max_value=10_000, help_text=POSITION_HELP, **kwargs)


def description_field():
    return forms.CharField(
        label="Description",
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "What it is for, in a sentence"}),
    )


def protected_field():
    return forms.BooleanField(
        label="Protected",
        required=False,
        help_text="Only publishers release to it or change it, each change with a reason "
        "and a passing test suite (the release gate).",
    )


class EnvironmentCreateForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=50,
        help_text="Lower-case letters and digits, words joined by dashes (uat, eu-production). "
        "It cannot be changed later.",
        widget=forms.TextInput(attrs={"placeholder": "uat", "autocomplete": "off", "spellcheck": "false"}),
    )
    position = position_field(initial=100)
    description = description_field()
    protected = protected_field()


def base_revision_field():
    """The revision of what the form was drawn from (optimistic concurrency)."""
    return forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)


class EnvironmentSettingsForm(forms.Form):
    position = position_field()
    description = description_field()
    protected = protected_field()
    change_requests_required = forms.BooleanField(
        label="Under change control",
        required=False,
        help_text="Every change here (releases, rollbacks, overrides, toggles, bindings, these "
        "settings) opens a change request that other publishers approve before it applies.",
    )
    approvals_required = forms.TypedChoiceField(
        label="Approvals needed",
        choices=[(1, "1 publisher"), (2, "2 publishers"), (3, "3 publishers")],
        coerce=int,
        required=False,
        empty_value=None,  # not posted: keep what the environment has
        initial=1,
        help_text="From publishers other than the change's author.",
    )
    reason = ReasonField(label="Reason", widget=forms.TextInput(attrs={"placeholder": "Why this change?"}))
    base_revision = base_revision_field()


class BindingForm(forms.Form):
    """How an environment reaches one service. Both kinds' settings are on the form; only
    the chosen kind's are kept (the stylesheet shows only those)."""

    interface = forms.ChoiceField(label="Interface", choices=[(i, i) for i in INTERFACE_NAMES])
    name = forms.CharField(
        label="Name",
        max_length=64,
        help_text="As in service:Interface:name in the rules' params, like jumio.",
        widget=forms.TextInput(attrs={"list": "called-names", "autocomplete": "off", "spellcheck": "false"}),
    )
    kind = forms.ChoiceField(
        label="Served by",
        choices=ServiceBinding.Kind.choices,
        widget=forms.RadioSelect,
        initial=ServiceBinding.Kind.SIMULATED,
    )
    url = forms.CharField(
        label="URL",
        max_length=500,
        required=False,
        help_text="http:// or https://, no credentials or query; each operation's name is "
        "appended (…/verify_identity).",
        widget=forms.TextInput(attrs={"placeholder": "https://kyc.example.com/v1", "spellcheck": "false"}),
    )
    timeout_seconds = forms.FloatField(
        label="Timeout (seconds)",
        min_value=0.01,
        max_value=300,
        initial=5.0,
        required=False,
        help_text="Shorter than the time limit of every rule calling it.",
    )
    retries = forms.IntegerField(
        label="Retries",
        min_value=0,
        max_value=5,
        initial=0,
        required=False,
        help_text="Times a call that failed transiently (no answer, no connection, 429, "
        "5xx) is sent again, waiting 0.2 s, then twice as long each time.",
    )
    secret_env = forms.CharField(
        label="Secret from environment variable",
        max_length=100,
        required=False,
        help_text="The variable's NAME, like JUMIO_API_KEY: the key itself is never typed "
        "here, stored or shown. It is sent as a bearer token.",
        widget=forms.TextInput(
            attrs={"placeholder": "JUMIO_API_KEY", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    latency_ms = forms.IntegerField(
        label="Latency (ms)",
        min_value=0,
        max_value=60_000,
        initial=0,
        required=False,
        help_text="Delay added to each call.",
    )
    failure_rate = forms.FloatField(
        label="Failure rate",
        min_value=0,
        max_value=1,
        initial=0.0,
        required=False,
        help_text="Share of calls that fail, 0 to 1.",
    )
    reason = ReasonField(label="Reason", widget=forms.TextInput(attrs={"placeholder": "Why this change?"}))
    #: the binding's revision when changing one; empty when binding a service for the first time
    base_revision = base_revision_field()

    def settings(self) -> dict:
        """The binding's settings, for service_binding_set (a number left empty: its default)."""
        data = self.cleaned_data
        defaults = {
            f: ServiceBinding.field_default(f)
            for f in ("timeout_seconds", "retries", "latency_ms", "failure_rate")
        }
        return {
            "kind": data["kind"],
            "url": data["url"],
            "secret_env": data["secret_env"],
            **{f: data[f] if data[f] is not None else default for f, default in defaults.items()},
        }


class BindingRemoveForm(forms.Form):
    reason = ReasonField(label="Reason")
    base_revision = base_revision_field()
