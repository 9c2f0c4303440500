from django import forms


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What it is for, e.g. “release job in CI”.",
        widget=forms.TextInput(attrs={"placeholder": "release job in CI"}),
    )
