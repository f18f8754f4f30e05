"""The notification preference form."""

from django import forms


class PreferenceForm(forms.Form):
    digests = forms.BooleanField(
        required=False, label="Send me digests",
        help_text="Managers: the daily digest of approvals and ending exceptions. Security "
                  "team: the weekly summary. Reminders about your own keys and critical "
                  "findings are always sent.")
