"""The forms of migration plans: open one, filter the list, ask for a trust policy."""

from datetime import date, timedelta

from django import forms

from governance.way_out import Path

from .models import PATH_CHOICES, MigrationPlan

DEFAULT_TARGET_DAYS = 30  # the date a new plan's form proposes, from today
PLANNABLE_PATHS = [(value, label) for value, label in PATH_CHOICES if value != Path.KEEP]


class PlanForm(forms.Form):
    """Path, target date and notes of a new plan; the service checks the rest (who, one
    open plan per key, a key still in AWS) and its refusals become form errors."""

    path = forms.ChoiceField(choices=PLANNABLE_PATHS, widget=forms.RadioSelect,
                             label="Replace the key with")
    target_date = forms.DateField(label="Target date",
                                  widget=forms.DateInput(attrs={"type": "date"}),
                                  help_text="By when the key is replaced and deleted.")
    notes = forms.CharField(required=False, max_length=4000, label="Notes",
                            widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    @staticmethod
    def default_target(today: date) -> date:
        return today + timedelta(days=DEFAULT_TARGET_DAYS)

    def clean_target_date(self) -> date:
        target = self.cleaned_data["target_date"]
        if target <= self.today:
            raise forms.ValidationError("Choose a date after today.")
        return target


class PlanFilterForm(forms.Form):
    """``/plans/``: ``?state=`` one of the plan states, ``?overdue=true``."""

    state = forms.ChoiceField(required=False, label="State",
                              choices=[("", "Any state"), *MigrationPlan.State.choices])
    overdue = forms.BooleanField(required=False, label="Overdue only")


CI_TEMPLATES = {"github": "GitHub Actions", "gitlab": "GitLab CI/CD"}


class TrustPolicyForm(forms.Form):
    """The key page's question for a CI key: which repository (and branch) the role is for."""

    ci = forms.ChoiceField(choices=list(CI_TEMPLATES.items()), label="CI system")
    repository = forms.CharField(max_length=300, label="Repository",
                                 help_text="owner/name on GitHub, group/project on GitLab")
    ref = forms.CharField(required=False, max_length=255, label="Branch (optional)",
                          help_text="e.g. refs/heads/main on GitHub, main on GitLab; empty: "
                                    "every branch of that repository")
