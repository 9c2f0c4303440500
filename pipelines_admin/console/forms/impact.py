"""The form that starts an impact analysis.

It parses and checks the shape of the input only; whether the user may start one, and
whether the candidate makes sense (released there, not what is live already, runs to
replay), is for pipelines_admin.impact.services to say."""

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator

from pipelines_admin.configs.models import Pipeline, Release
from pipelines_admin.console.forms.pipeline_pages import OverrideField, environment_field

DEFAULT_LAST = 10_000


def default_last() -> int:
    return min(DEFAULT_LAST, settings.IMPACT_MAX_RUNS)


class CandidateOverrideField(OverrideField):
    """A JSON merge patch, or nothing: empty keeps the environment's own override
    (None), while `{}` proposes no override at all."""

    def to_python(self, value):
        if value is None or not str(value).strip():
            return None
        return super().to_python(value)


class ImpactForm(forms.Form):
    """Only the environment is required when posted from elsewhere: no version means the
    live one (so an override alone is the change), no `last` means the default window."""

    environment = environment_field(
        label="Environment", help_text="Its runs are replayed; what is live there is the baseline."
    )
    version = forms.TypedChoiceField(
        coerce=int,
        label="Candidate version",
        required=False,
        empty_value=None,
        help_text="What the change would run, with the override below if any.",
        error_messages={"invalid_choice": "There is no such version."},
    )
    override = CandidateOverrideField(
        label="Override (JSON merge patch, optional)",
        widget=forms.Textarea(
            attrs={
                "rows": 6,
                "spellcheck": "false",
                "class": "code",
                "placeholder": '{"stages": {"compliance": {"enabled": false}}}',
            }
        ),
        help_text="Leave empty to keep the environment's own override; {} runs the version without one.",
    )
    last = forms.IntegerField(
        label="Replay the last",
        min_value=1,
        initial=DEFAULT_LAST,
        required=False,
        help_text="finished ones there, newest first.",
    )

    def __init__(self, *args, pipeline: Pipeline, live: dict[str, Release] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        live = live or {}
        versions = list(pipeline.versions.order_by("-number").values_list("number", "message"))
        self.fields["version"].choices = [  # type: ignore[attr-defined]  # a ChoiceField
            (n, f"v{n}{' (latest)' if i == 0 else ''} · {message[:60]}")
            for i, (n, message) in enumerate(versions)
        ]
        self.fields["environment"].widget.choices = [
            (
                e.name,
                f"{e.name} (live v{live[e.name].version.number})"
                if e.name in live
                else f"{e.name} (not released)",
            )
            for e in self.fields["environment"].queryset  # type: ignore[attr-defined]  # a ModelChoiceField
        ]
        last = self.fields["last"]  # the limit is read now: settings may change while the process runs
        last.max_value = settings.IMPACT_MAX_RUNS  # type: ignore[attr-defined]  # an IntegerField
        last.validators.append(MaxValueValidator(settings.IMPACT_MAX_RUNS))
        last.widget.attrs.update({"max": settings.IMPACT_MAX_RUNS, "min": 1})

    def clean_last(self):
        last = self.cleaned_data.get("last")
        return default_last() if last is None else last
