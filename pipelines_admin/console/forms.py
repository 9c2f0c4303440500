from django import forms

from pipelines_admin.configs.models import Environment, Pipeline


class BatchUploadForm(forms.Form):
    pipeline = forms.ModelChoiceField(queryset=Pipeline.objects.all(), to_field_name="slug", empty_label=None)
    environment = forms.ModelChoiceField(queryset=Environment.objects.all(), to_field_name="name", empty_label=None)
    file = forms.FileField(help_text="A .csv file with a header row, or a .jsonl file with one JSON object per line.")


class JSONObjectField(forms.CharField):
    """A textarea holding one JSON object; errors name the line and column."""

    widget = forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code"})

    def to_python(self, value):
        import json

        text = super().to_python(value)
        if not text:
            return None
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).")
        except RecursionError:
            raise forms.ValidationError("Not valid JSON: it is nested too deeply.")
        except ValueError:  # Python refuses integers of more than 4,300 digits
            raise forms.ValidationError("Not valid JSON: it holds a number with too many digits.")
        if not isinstance(parsed, dict):
            raise forms.ValidationError("The application must be a JSON object: { \"field\": value, ... }.")
        return parsed


class TryRunForm(forms.Form):
    """Submit one test application to a pipeline."""

    environment = forms.ModelChoiceField(queryset=Environment.objects.all(), to_field_name="name", empty_label=None,
                                         help_text="Its live config runs, with its service bindings.")
    version = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                     help_text="Or run a chosen version instead of the live config.")
    stages = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                       help_text="Only these stages (none ticked: all).")
    record = JSONObjectField(label="Application (JSON)")

    def __init__(self, *args, pipeline, **kwargs):
        super().__init__(*args, **kwargs)
        numbers = list(pipeline.versions.order_by("-number").values_list("number", flat=True))
        self.fields["version"].choices = [("", "the environment's live config")] + [(n, f"v{n}") for n in numbers]
        latest = pipeline.versions.order_by("-number").first()
        stages = list((latest.document if latest else {}).get("stages", {}))
        self.fields["stages"].choices = [(s, s) for s in stages]


class RerunForm(forms.Form):
    environment = forms.ModelChoiceField(queryset=Environment.objects.all(), to_field_name="name", empty_label=None)
    version = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)

    def __init__(self, *args, pipeline, **kwargs):
        super().__init__(*args, **kwargs)
        numbers = list(pipeline.versions.order_by("-number").values_list("number", flat=True))
        self.fields["version"].choices = [("", "live config")] + [(n, f"v{n}") for n in numbers]
