"""The add-account form: the same fields and validation as ``add_account``."""

from django import forms

from ..models import ACCOUNT_ID_VALIDATOR, ROLE_ARN_VALIDATOR


def ascii_only(value: str) -> None:
    """AWS ids and ARNs are ASCII; the models' ``\\d`` and ``\\w`` also match look-alikes
    such as Arabic-Indic digits, which would be stored as an account id no call can use."""
    if not value.isascii():
        raise forms.ValidationError("Use plain ASCII letters and digits, as AWS shows them.")


class AccountForm(forms.Form):
    account_id = forms.CharField(label="Account id", max_length=12,
                                 validators=[ascii_only, ACCOUNT_ID_VALIDATOR])
    name = forms.CharField(max_length=200)
    role_arn = forms.CharField(label="Reader role ARN", max_length=600, required=False,
                               validators=[ascii_only, ROLE_ARN_VALIDATOR],
                               help_text="Empty: read with Keyledger's own credentials.")
    external_id = forms.CharField(label="External id", max_length=1224, required=False)
