"""Forms of the review pages: revealing a field, approving or declining, and keeping a
decided case as a test case."""

from django import forms

from pipelines_admin.reviews.models import REASON_CODES
from pipelines_admin.reviews.services import NOTE_MAX, REASON_MAX, REASON_MIN


class QueueFilterForm(forms.Form):
    pipeline = forms.CharField(required=False)
    environment = forms.CharField(required=False)


class RevealForm(forms.Form):
    field = forms.ChoiceField(label="Field")
    reason = forms.CharField(
        label="Why you need to see it",
        min_length=REASON_MIN,
        max_length=REASON_MAX,
        help_text="Recorded in the audit trail with the field's name (never its value).",
    )

    def __init__(self, *args, fields: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [(name, name) for name in fields]  # type: ignore[attr-defined]  # a ChoiceField


class DecideForm(forms.Form):
    """Approve or decline: one form for each decision (prefixed by it), which the page
    posts with the decision in a hidden `decision` field."""

    reason_code = forms.ChoiceField(label="Reason")
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For the next reviewer and the audit trail; the applicant's personal values are masked.",
    )

    def __init__(self, *args, decision: str, **kwargs):
        kwargs.update(prefix=decision)
        super().__init__(*args, **kwargs)
        self.fields["reason_code"].choices = list(REASON_CODES[decision].items())  # type: ignore[attr-defined]  # a ChoiceField


class SaveCaseForm(forms.Form):
    expect = forms.ChoiceField(label="The test case expects", widget=forms.RadioSelect)
    name = forms.CharField(
        label="Name", max_length=200, required=False, help_text="Leave empty for a name from the run."
    )

    def __init__(self, *args, choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expect"].choices = choices  # type: ignore[attr-defined]  # a ChoiceField
        if choices:
            self.fields["expect"].initial = choices[0][0]
