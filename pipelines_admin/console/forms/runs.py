"""The form of the batches page: a file of applications to run."""

from django import forms

from pipelines_admin.configs.models import Environment, Pipeline


class BatchUploadForm(forms.Form):
    """A file of applications for one pipeline in one environment. With several pipelines
    and none preselected (`initial`, e.g. from ?pipeline=), the pipeline must be chosen."""

    pipeline = forms.ModelChoiceField(
        queryset=Pipeline.objects.all(), to_field_name="slug", empty_label="Choose a pipeline"
    )
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.all(), to_field_name="name", empty_label=None
    )
    file = forms.FileField(
        help_text="A .csv file with a header row, or a .jsonl file with one JSON object per line."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.initial.get("pipeline"):
            only = list(Pipeline.objects.values_list("slug", flat=True)[:2])
            if len(only) == 1:  # nothing to choose between
                self.initial["pipeline"] = only[0]
                self.fields["pipeline"].empty_label = None
