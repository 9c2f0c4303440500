"""Forms of the change request pages: approve, reject, revise, withdraw, schedule, break
glass. They only parse what is typed; whether the user may do it, and whether the
change still holds, is for pipelines_admin.changes.services to say."""

from __future__ import annotations

from django import forms

from pipelines_admin.console.forms.pipeline_pages import REASON_MAX, OverrideField, ReasonField


def comment_field(*, required: bool, placeholder: str, error_messages=None):
    return forms.CharField(
        label="Comment",
        required=required,
        error_messages=error_messages,
        max_length=REASON_MAX,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": placeholder}),
    )


def revision_field():
    """The revision of the request the page showed: deciding or applying is refused
    (Stale) when the author revised it since."""
    return forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class ApproveForm(forms.Form):
    comment = comment_field(required=False, placeholder="Optional: what you checked")
    revision = revision_field()


class RejectForm(forms.Form):
    revision = revision_field()
    comment = comment_field(
        required=True,
        placeholder="Why? The author reads it",
        error_messages={"required": "Say why you reject the change: the author reads it."},
    )


class WithdrawForm(forms.Form):
    reason = ReasonField(label="Why withdraw it?", widget=forms.TextInput(attrs={"placeholder": "Optional"}))


class ScheduleForm(forms.Form):
    """When to apply it, typed in the server's time zone (a datetime-local input)."""

    when = forms.DateTimeField(
        label="Apply at",
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"),
    )
    action = forms.ChoiceField(
        choices=[("schedule", "schedule"), ("unschedule", "unschedule")], required=False
    )

    def clean(self):
        data = super().clean()
        if data.get("action") != "unschedule" and not data.get("when") and "when" not in self.errors:
            self.add_error("when", "Pick the date and time to apply it at.")
        return data


class ReviseForm(forms.Form):
    """What a release or override request does: the version (release) and the override."""

    version = forms.TypedChoiceField(label="Version", coerce=int, required=False)
    override = OverrideField(label="Override (JSON merge patch)")
    reason = ReasonField(
        label="Reason", widget=forms.TextInput(attrs={"placeholder": "What changed, and why"})
    )

    def __init__(self, *args, versions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = [(n, f"v{n}") for n in versions]


class BreakGlassForm(forms.Form):
    reason = forms.CharField(
        label="Why can this not wait for an approval?",
        max_length=REASON_MAX,
        strip=True,
        error_messages={"required": "Breaking glass needs a reason: it is recorded and everyone is told."},
        widget=forms.TextInput(attrs={"placeholder": "Recorded in the audit trail; every publisher is told"}),
    )
