"""Forms of the Webhooks pages: a subscription's name, URL, scope and events.

They only parse the shape of what is typed; whether the user may, and whether the URL
and events are acceptable, is for webhooks.services to say (its field errors are put
back beside the fields)."""

from django import forms

from pipelines_admin.configs.models import Environment, Pipeline
from pipelines_admin.webhooks.events import EVENT_CHOICES


class WebhookForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "chat-ops bot", "autocomplete": "off"}),
    )
    url = forms.CharField(
        label="URL",
        max_length=500,
        help_text="Where each event is POSTed (http:// or https://).",
        widget=forms.URLInput(
            attrs={"placeholder": "https://hooks.example.com/pipelines", "spellcheck": "false"}
        ),
    )
    pipeline = forms.ModelChoiceField(
        label="Pipeline",
        queryset=Pipeline.objects.order_by("slug"),
        required=False,
        empty_label="Every pipeline",
        to_field_name="slug",
    )
    environment = forms.ModelChoiceField(
        label="Environment",
        queryset=Environment.objects.order_by("position", "name"),
        required=False,
        empty_label="Every environment",
        to_field_name="name",
    )
    events = forms.MultipleChoiceField(
        label="Events",
        choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="What is sent to it.",
    )


class DisableForm(forms.Form):
    reason = forms.CharField(label="Why", max_length=300, required=False)
