"""Filters of the API lists the pages do not share (keys and exception requests use
``governance.filters``' ``KeyFilter`` and ``ExceptionFilter``, with the pages; keys add the
AWS account id).

Yes/no filters take exactly ``true`` or ``false``: anything else is a 400, never ignored.
Keys are filtered by id, not chosen from a list, so a key outside the person's scope gives
an empty list rather than confirming that it exists.

Accounts are filtered by ``account_id``, the 12-digit id AWS shows. ``account`` (Keyledger's
own id of the account, what the inventory page's menu sends) is still accepted where it was,
so existing scripts keep working.
"""

import django_filters as filters
from django.core.validators import RegexValidator

from ..filters import YES_NO, KeyFilter, yes
from ..models import AwsAccount, Finding, SyncRun
from ..policy import RULES, Element, Severity


def aws_account_id_filter(field_name: str) -> filters.CharFilter:
    """A filter on the 12-digit AWS account id; anything else is a 400."""
    return filters.CharFilter(
        field_name=field_name, label="AWS account id", help_text="the 12-digit AWS account id",
        validators=[RegexValidator(r"^\d{12}\Z", "An AWS account id is 12 digits.")])


class ApiKeyFilter(KeyFilter):
    """The inventory's filters, and the AWS account id."""

    account_id = aws_account_id_filter("account__account_id")


class FindingFilter(filters.FilterSet):
    key = filters.NumberFilter(field_name="key_id", label="Key id")
    account_id = aws_account_id_filter("key__account__account_id")
    code = filters.ChoiceFilter(choices=[(c, c) for c in sorted(RULES)], label="Finding code")
    element = filters.ChoiceFilter(choices=[(e.value, e.value) for e in Element])
    severity = filters.ChoiceFilter(choices=[(s.value, s.value) for s in Severity])
    open = filters.ChoiceFilter(choices=YES_NO, method="by_open",
                                label="Open (true) or resolved (false)")

    class Meta:
        model = Finding
        fields: list[str] = []

    def by_open(self, queryset, _name, value):
        return queryset.filter(resolved_at__isnull=yes(value))


class AwsAccountFilter(filters.FilterSet):
    account_id = aws_account_id_filter("account_id")
    enabled = filters.ChoiceFilter(choices=YES_NO, method="by_enabled")
    source = filters.ChoiceFilter(choices=AwsAccount.Source.choices)

    class Meta:
        model = AwsAccount
        fields: list[str] = []

    def by_enabled(self, queryset, _name, value):
        return queryset.filter(enabled=yes(value))


class SyncRunFilter(filters.FilterSet):
    account = filters.ModelChoiceFilter(queryset=AwsAccount.objects.all(),
                                        label="Account (Keyledger id)")
    account_id = aws_account_id_filter("account__account_id")
    status = filters.ChoiceFilter(choices=SyncRun.Status.choices)
    trigger = filters.ChoiceFilter(choices=SyncRun.Trigger.choices)

    class Meta:
        model = SyncRun
        fields: list[str] = []
