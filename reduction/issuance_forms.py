"""The issuance request form: each answer validated with the rule the service applies, so
a mistake is named next to its field (bad JSON, a bad CIDR) rather than after filing."""

from django import forms

from core.errors import GovernanceError
from governance.models import AwsAccount, PurposeCategory

from .issuance import IssuanceInput, issuance_account
from .issuance_rules import IAM_USER_NAME, JudgedPolicies, declared_sources, judge_policies

POLICY_EXAMPLE = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                  '"Action": "s3:PutObject", "Resource": "arn:aws:s3:::builds/*"}]}')


def _area(rows: int = 3, **attrs) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, **attrs})


class IssuanceForm(forms.Form):
    account_id = forms.CharField(label="AWS account id", max_length=12,
                                 help_text="The 12-digit account the key will be in.")
    user_name = forms.CharField(label="IAM user name", max_length=64,
                                help_text="The user the key is created on (existing or new).")
    category = forms.ChoiceField(label="Purpose category", choices=PurposeCategory.choices)
    runs_where = forms.CharField(label="Where it runs", max_length=300)
    justification = forms.CharField(label="Justification", max_length=4000, widget=_area())
    why_not_iam_role = forms.CharField(label="Why an IAM role cannot serve", max_length=2000,
                                       widget=_area(2))
    why_not_identity_center = forms.CharField(label="Why IAM Identity Center cannot serve",
                                              max_length=2000, widget=_area(2))
    why_not_sts = forms.CharField(label="Why STS / IAM Roles Anywhere / OIDC cannot serve",
                                  max_length=2000, widget=_area(2))
    policy_text = forms.CharField(
        label="Proposed policies", max_length=20000, strip=False,
        widget=_area(10, spellcheck="false", **{"class": "mono"}),
        help_text="One policy document, or check_policy's list of {\"name\", \"kind\", "
                  "\"document\"}. Judged as `manage.py check_policy` judges it.")
    sources_text = forms.CharField(
        label="Declared sources", max_length=2000, widget=_area(2),
        help_text="CIDRs, VPC ids (vpc-…) or VPC endpoint ids (vpce-…), one per line.")
    rotation_plan = forms.CharField(label="Rotation plan", max_length=2000, widget=_area(2))
    deactivation_contact = forms.CharField(label="Who can deactivate it in an incident",
                                           max_length=300)

    judged: JudgedPolicies | None = None

    def clean_account_id(self) -> str:
        try:
            return issuance_account(self.cleaned_data["account_id"]).account_id
        except GovernanceError as problem:
            raise forms.ValidationError(str(problem).removeprefix("account: ")) from None

    def clean_user_name(self) -> str:
        name = self.cleaned_data["user_name"].strip()
        if not IAM_USER_NAME.fullmatch(name):
            raise forms.ValidationError("Up to 64 letters, digits and + = , . @ _ -.")
        return name

    def clean_policy_text(self) -> str:
        text = self.cleaned_data["policy_text"]
        try:
            self.judged = judge_policies(text)
        except ValueError as problem:
            raise forms.ValidationError(str(problem)) from None
        return text

    def clean_sources_text(self) -> str:
        text = self.cleaned_data["sources_text"]
        try:
            declared_sources(text)
        except ValueError as problem:
            raise forms.ValidationError(str(problem)) from None
        return text

    def account(self) -> AwsAccount | None:
        """The named account once it validated (for the evidence note)."""
        account_id = self.cleaned_data.get("account_id") if hasattr(self, "cleaned_data") \
            else None
        return AwsAccount.objects.filter(account_id=account_id).first() if account_id else None

    def issuance_input(self) -> IssuanceInput:
        return IssuanceInput(**{name: self.cleaned_data[name] for name in self.fields})
