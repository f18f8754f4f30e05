"""The dashboard's forms: AWS accounts, owner assignment, purpose registration and
exception decisions.

Forms only shape and check input (required fields, lengths from the models, dates); the
services decide whether the action is allowed and say why not.
"""

from datetime import date, timedelta

from django import forms
from django.conf import settings
from django.utils import timezone

from accounts.models import Person

from .models import (
    ACCOUNT_ID_VALIDATOR,
    ROLE_ARN_VALIDATOR,
    AccessKey,
    ExceptionRequest,
    Registration,
)
from .services.exceptions import approval_expiry_problem, expiry_problem
from .services.keys import REGISTRATION_TEXT_FIELDS, RegistrationInput
from .sources import MAX_SOURCES, Source, parse_each, split_sources

REGISTRATION_FIELDS = ("category",) + REGISTRATION_TEXT_FIELDS
ALTERNATIVE_FIELDS = ("why_not_iam_role", "why_not_identity_center", "why_not_sts")


def _from_model(model, name: str, label: str, help_text: str = "", rows: int = 0):
    """A form field with the model field's choices, max length and required-ness."""
    widget = forms.Textarea(attrs={"rows": rows}) if rows else None
    extra = {"widget": widget} if widget else {}
    return model._meta.get_field(name).formfield(label=label, help_text=help_text, **extra)


class AccountForm(forms.Form):
    """The add-account form: the same fields and validation as ``add_account``."""

    account_id = forms.CharField(label="Account id", max_length=12,
                                 validators=[ACCOUNT_ID_VALIDATOR])
    name = forms.CharField(max_length=200)
    role_arn = forms.CharField(label="Reader role ARN", max_length=600, required=False,
                               validators=[ROLE_ARN_VALIDATOR],
                               help_text="Empty: read with Keyledger's own credentials.")
    external_id = forms.CharField(label="External id", max_length=1224, required=False)


class AssignOwnerForm(forms.Form):
    person = forms.ModelChoiceField(
        queryset=Person.objects.filter(is_active=True), label="Owner",
        error_messages={"invalid_choice": "Choose an active person.",
                        "required": "Choose the key's owner."})


class OwnerEmailForm(forms.Form):
    """A new owner picked by e-mail (the pages offer the active people in a ``<datalist>``,
    so the picker is searchable without a script)."""

    owner = forms.EmailField(label="New owner", max_length=254, error_messages={
        "required": "Type or pick the new owner's e-mail."})

    def clean_owner(self):
        person = Person.objects.filter(email__iexact=self.cleaned_data["owner"].strip(),
                                       is_active=True).first()
        if person is None:
            raise forms.ValidationError("No active person has this e-mail.")
        return person


class BulkAssignForm(OwnerEmailForm):
    """The gaps page's assign-many: the ticked keys, among ``keys`` (those on offer)."""

    keys = forms.ModelMultipleChoiceField(queryset=AccessKey.objects.none(), error_messages={
        "required": "Tick at least one key.",
        "invalid_choice": "A ticked key is no longer among the gaps you may assign."})

    def __init__(self, *args, keys, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["keys"].queryset = keys


class RegistrationForm(forms.Form):
    """Every field of DESIGN.md's purpose registration, the alternatives in a fixed order."""

    category = _from_model(Registration, "category", "Purpose category")
    runs_where = _from_model(Registration, "runs_where", "Where it runs",
                             "e.g. GitHub Actions of org acme; the on-premises backup host")
    justification = _from_model(Registration, "justification", "Justification",
                                "What the key is for and why it must exist.", rows=3)
    why_not_iam_role = _from_model(Registration, "why_not_iam_role",
                                   "Why can an IAM role not serve?",
                                   "Workloads running in AWS use a role.", rows=2)
    why_not_identity_center = _from_model(Registration, "why_not_identity_center",
                                          "Why can IAM Identity Center not serve?",
                                          "People sign in through Identity Center.", rows=2)
    why_not_sts = _from_model(Registration, "why_not_sts",
                              "Why can STS / IAM Roles Anywhere not serve?",
                              "Workloads outside AWS get temporary credentials this way.",
                              rows=2)
    declared_sources = forms.CharField(
        label="Declared sources", required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="Where the key is used from, one per line or comma-separated: CIDRs "
                  "(203.0.113.0/24; an address alone is its /32), VPC ids (vpc-…), VPC "
                  "endpoint ids (vpce-…). A call from anywhere else raises UNEXPECTED_SOURCE.")
    source_restriction = forms.CharField(
        label="Notes on the sources", required=False,
        max_length=Registration._meta.get_field("source_restriction").max_length,
        help_text="Optional when sources are declared; otherwise say why the key cannot be "
                  "confined to known places.")
    rotation_procedure = _from_model(Registration, "rotation_procedure", "Rotation procedure",
                                     "How and how often the key is replaced.", rows=2)
    deactivation_contact = _from_model(Registration, "deactivation_contact",
                                       "Who can deactivate it",
                                       "A person or on-call rota reachable in an incident.")

    def __init__(self, *args, evidence: dict[str, str] | None = None, **kwargs):
        """``evidence``: per "why not" field, the way-out sentence saying that alternative
        is available (``governance.way_out.available_alternatives``); each such answer then
        needs its ``confirm_<field>`` box ticked."""
        super().__init__(*args, **kwargs)
        self.evidence = {name: text for name, text in (evidence or {}).items()
                         if name in ALTERNATIVE_FIELDS}
        for name in self.evidence:
            self.fields[f"confirm_{name}"] = forms.BooleanField(
                label="I confirm this reason still holds", error_messages={
                    "required": "The evidence says this alternative is available: confirm "
                                "your reason still holds, or plan the move instead."})

    @classmethod
    def initial_from(cls, registration: Registration | None) -> dict:
        """The current registration's answers, to prefill a re-registration."""
        if registration is None:
            return {}
        return {**{name: getattr(registration, name) for name in REGISTRATION_FIELDS},
                "declared_sources": "\n".join(registration.declared_sources or [])}

    def clean_declared_sources(self) -> list[str]:
        """The canonical sources; every bad entry is named with why, all at once."""
        parsed, problems = parse_each(split_sources(self.cleaned_data["declared_sources"]))
        if problems:
            raise forms.ValidationError(problems)
        if len(parsed) > MAX_SOURCES:
            raise forms.ValidationError(f"At most {MAX_SOURCES} sources: group addresses "
                                        "into CIDRs.")
        return [source.value for source in parsed]

    def clean(self):
        cleaned = super().clean()
        if ("declared_sources" in cleaned and not cleaned["declared_sources"]
                and not cleaned.get("source_restriction", "").strip()):
            self.add_error("declared_sources", "Declare where the key is used from, or say "
                                               "in the notes why it cannot be confined.")
        return cleaned

    def shown_sources(self) -> list[Source]:
        """The sources the form shows now (what was typed, else the initial value), bad
        entries left out: what the suggested guard confines the key to."""
        text = (self.data.get(self.add_prefix("declared_sources"), "") if self.is_bound
                else self.initial.get("declared_sources", ""))
        return parse_each(split_sources(text or ""))[0][:MAX_SOURCES]

    def registration_input(self) -> RegistrationInput:
        return RegistrationInput(**{name: self.cleaned_data[name]
                                    for name in REGISTRATION_FIELDS},
                                 declared_sources=tuple(self.cleaned_data["declared_sources"]),
                                 confirmed_despite_evidence=tuple(self.evidence.items()))


def default_expiry(today: date) -> date:
    """Thirty days from today, or the longest exception allowed if that is shorter."""
    return today + timedelta(days=min(30, settings.KEYLEDGER_EXCEPTION_MAX_DAYS))


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _checked_expiry(value: date | None) -> date | None:
    if value is not None:
        problem = expiry_problem(value, timezone.localdate())
        if problem:
            raise forms.ValidationError(problem[0].upper() + problem[1:] + ".")
    return value


class ExceptionRequestForm(forms.Form):
    code = forms.ChoiceField(label="Finding to waive", widget=forms.RadioSelect)
    justification = _from_model(ExceptionRequest, "justification", "Justification",
                                "Why the finding cannot be fixed before the expiry.", rows=4)
    expires_on = forms.DateField(label="Expires on", widget=DateInput())

    def __init__(self, *args, findings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].choices = [
            (f.code, f"{f.code}: {f.reason}") for f in findings]
        self.fields["expires_on"].initial = default_expiry(timezone.localdate())
        self.fields["expires_on"].help_text = (
            f"Last day covered; at most {settings.KEYLEDGER_EXCEPTION_MAX_DAYS} days away.")

    def clean_expires_on(self):
        return _checked_expiry(self.cleaned_data["expires_on"])


class ApproveForm(forms.Form):
    note = forms.CharField(label="Note (optional)", required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))
    expires_on = forms.DateField(label="Shorter expiry (optional)", required=False,
                                 widget=DateInput())

    def __init__(self, *args, exception: ExceptionRequest, **kwargs):
        super().__init__(*args, **kwargs)
        self.exception = exception

    def clean_expires_on(self):
        """A shorter expiry, by the service's rule (which checks it again on approval)."""
        value = self.cleaned_data["expires_on"]
        if value is not None:
            problem = approval_expiry_problem(self.exception, value, timezone.localdate())
            if problem:
                raise forms.ValidationError(problem[0].upper() + problem[1:] + ".")
        return value


class NoteForm(forms.Form):
    """Reject and revoke: the reason is required and kept in the audit trail."""

    note = forms.CharField(label="Reason", max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           error_messages={"required": "Say why."})
