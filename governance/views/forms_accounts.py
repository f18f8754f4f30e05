"""The add-account form: the same fields and validation as ``add_account``."""

from django import forms

from ..models import ACCOUNT_ID_VALIDATOR, ROLE_ARN_VALIDATOR


class AccountForm(forms.Form):
    account_id = forms.CharField(label="Account id", max_length=12,
                                 validators=[ACCOUNT_ID_VALIDATOR])
    name = forms.CharField(max_length=200)
    role_arn = forms.CharField(label="Reader role ARN", max_length=600, required=False,
                               validators=[ROLE_ARN_VALIDATOR],
                               help_text="Empty: read with Keyledger's own credentials.")
    external_id = forms.CharField(label="External id", max_length=1224, required=False)
