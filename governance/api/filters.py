"""Filters of the API lists other than keys (keys use ``governance.filters.KeyFilter``).

Yes/no filters take exactly ``true`` or ``false``: anything else is a 400, never ignored.
Keys are filtered by id, not chosen from a list, so a key outside the person's scope gives
an empty list rather than confirming that it exists.
"""

import django_filters as filters

from ..models import AwsAccount, ExceptionRequest, Finding, SyncRun
from ..policy import RULES, Element, Severity

YES_NO = [("true", "true"), ("false", "false")]


def _yes(value: str) -> bool:
    return value == "true"


class FindingFilter(filters.FilterSet):
    key = filters.NumberFilter(field_name="key_id", label="Key id")
    code = filters.ChoiceFilter(choices=[(c, c) for c in sorted(RULES)], label="Finding code")
    element = filters.ChoiceFilter(choices=[(e.value, e.value) for e in Element])
    severity = filters.ChoiceFilter(choices=[(s.value, s.value) for s in Severity])
    open = filters.ChoiceFilter(choices=YES_NO, method="by_open",
                                label="Open (true) or resolved (false)")

    class Meta:
        model = Finding
        fields: list[str] = []

    def by_open(self, queryset, _name, value):
        return queryset.filter(resolved_at__isnull=_yes(value))


class ExceptionFilter(filters.FilterSet):
    key = filters.NumberFilter(field_name="key_id", label="Key id")
    code = filters.ChoiceFilter(choices=[(c, c) for c in sorted(RULES)], label="Finding code")
    status = filters.ChoiceFilter(choices=ExceptionRequest.Status.choices)
    awaiting = filters.ChoiceFilter(choices=YES_NO, method="by_awaiting",
                                    label="Awaiting my decision")
    mine = filters.ChoiceFilter(choices=YES_NO, method="by_mine", label="Requested by me")

    class Meta:
        model = ExceptionRequest
        fields: list[str] = []

    def by_awaiting(self, queryset, _name, value):
        mine = ExceptionRequest.objects.awaiting_decision_by(self.request.user).values("pk")
        return queryset.filter(pk__in=mine) if _yes(value) else queryset.exclude(pk__in=mine)

    def by_mine(self, queryset, _name, value):
        if _yes(value):
            return queryset.filter(requested_by=self.request.user)
        return queryset.exclude(requested_by=self.request.user)


class AwsAccountFilter(filters.FilterSet):
    enabled = filters.ChoiceFilter(choices=YES_NO, method="by_enabled")
    source = filters.ChoiceFilter(choices=AwsAccount.Source.choices)

    class Meta:
        model = AwsAccount
        fields: list[str] = []

    def by_enabled(self, queryset, _name, value):
        return queryset.filter(enabled=_yes(value))


class SyncRunFilter(filters.FilterSet):
    account = filters.ModelChoiceFilter(queryset=AwsAccount.objects.all(),
                                        label="Account (Keyledger id)")
    status = filters.ChoiceFilter(choices=SyncRun.Status.choices)
    trigger = filters.ChoiceFilter(choices=SyncRun.Trigger.choices)

    class Meta:
        model = SyncRun
        fields: list[str] = []
