"""The person's own forms: a new personal API token."""

from django import forms

from .tokens import default_days, max_days


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name",
                           help_text="What the token is for, e.g. 'nightly report script'.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The longest life is a setting, read per form so a changed setting applies at once.
        self.fields["days"] = forms.IntegerField(
            min_value=1, max_value=max_days(), initial=default_days(),
            label="Valid for (days)", help_text=f"At most {max_days()} days.")
