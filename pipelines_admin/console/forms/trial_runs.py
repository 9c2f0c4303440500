"""Forms of the trial runs: one test application submitted to a pipeline, and a run
submitted again elsewhere to compare."""

from django import forms

from pipelines_admin.configs.models import Environment
from pipelines_admin.core.json_data import UnreadableJSON, parse_json_text


class JSONObjectField(forms.CharField):
    """A textarea holding one JSON object; errors name the line and column."""

    widget = forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code"})

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        try:
            parsed = parse_json_text(text)
        except UnreadableJSON as exc:
            raise forms.ValidationError(str(exc)) from None
        if not isinstance(parsed, dict):
            raise forms.ValidationError('The application must be a JSON object: { "field": value, ... }.')
        return parsed


class TryRunForm(forms.Form):
    """Submit one test application to a pipeline."""

    environment = forms.ModelChoiceField(
        queryset=Environment.objects.all(),
        to_field_name="name",
        empty_label=None,
        help_text="Its live config runs, with its service bindings.",
    )
    version = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        help_text="Or run a chosen version instead of the live config.",
    )
    stages = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only these stages (none ticked: all). A run of some stages is "
        "partial: it shows what those stages do, never decides.",
    )
    record = JSONObjectField(label="Application (JSON)")

    def __init__(self, *args, pipeline, **kwargs):
        super().__init__(*args, **kwargs)
        numbers = list(pipeline.versions.order_by("-number").values_list("number", flat=True))
        self.fields["version"].choices = [("", "the environment's live config")] + [
            (n, f"v{n}") for n in numbers
        ]
        latest = pipeline.versions.order_by("-number").first()
        stages = list((latest.document if latest else {}).get("stages", {}))
        self.fields["stages"].choices = [(s, s) for s in stages]


class RerunForm(forms.Form):
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.all(), to_field_name="name", empty_label=None
    )
    version = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)

    def __init__(self, *args, pipeline, **kwargs):
        super().__init__(*args, **kwargs)
        numbers = list(pipeline.versions.order_by("-number").values_list("number", flat=True))
        self.fields["version"].choices = [("", "live config")] + [(n, f"v{n}") for n in numbers]
