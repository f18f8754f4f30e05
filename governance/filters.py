"""The filters of the lists, one definition for a page, its export and the API, so they agree:
keys (inventory, CSV export, API), exception requests (page and API) and the audit log.

Yes/no filters take exactly ``true`` or ``false``: anything else is a 400, never ignored.
"""

import re

import django_filters as filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import Person
from evidence.models import KeyUsageDay
from evidence.summary import window_start

from .models import (
    AccessKey,
    AuditEvent,
    AwsAccount,
    Compliance,
    ExceptionRequest,
    Finding,
    IamUser,
)
from .policy import RULES, Element, Severity
from .untrusted import query_text
from .windows import AGE_WINDOWS, LAST_USED_WINDOWS, WIDER_AGE_WINDOWS, by_label

# The age filter offers the overview chart's windows and the wider ones it always had.
AGE_CHOICES = by_label(*AGE_WINDOWS, *WIDER_AGE_WINDOWS)
# An AWS access key id as AWS prints it: searching for one is an equality on an indexed column.
FULL_KEY_ID = re.compile(r"^(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}$")
LAST_USED_CHOICES = by_label(*LAST_USED_WINDOWS)
YES_NO = [("true", "true"), ("false", "false")]
YES_NO_LABELS = [("true", "yes"), ("false", "no")]
# The usage evidence filters' explanations: the filter bar cuts long labels, so the
# select's tooltip says it all.
UNDECLARED_HELP = ("CloudTrail shows the key used, in the evidence window, from an address "
                   "outside its declared sources (an open UNEXPECTED_SOURCE finding, excepted "
                   "or not)")
UNUSED_HELP = ("Active keys with no CloudTrail event in the evidence window: relies on the "
               "organization trail being read for their accounts")
SORTS = {
    "risk": ("-risk", "created_at"), "-risk": ("risk", "-created_at"),
    "account": ("account__name", "user__name", "created_at"),
    "-account": ("-account__name", "-user__name", "-created_at"),
    "user": ("user__name",), "-user": ("-user__name",),
    "age": ("-created_at",), "-age": ("created_at",),
    "last_used": ("-last_used_at",), "-last_used": ("last_used_at",),
    "key": ("access_key_id",), "-key": ("-access_key_id",),
    "compliance": ("compliance",), "-compliance": ("-compliance",),
}
# Without a sort asked for, the inventory is a risk list: the worst open key finding first,
# then the oldest key (``AccessKey.risk``'s index serves it).
DEFAULT_SORT = "risk"

SORT_LABELS = {
    "risk": "highest risk first", "-risk": "lowest risk first",
    "account": "account A-Z", "-account": "account Z-A", "user": "IAM user A-Z",
    "-user": "IAM user Z-A", "age": "newest first", "-age": "oldest first",
    "last_used": "recently used first", "-last_used": "least recently used first",
    "key": "key id A-Z", "-key": "key id Z-A", "compliance": "compliance",
    "-compliance": "compliance (reverse)",
}
# A key's risk (``AccessKey.risk``) for each severity the filter offers.
SEVERITY_RISK = {severity.value: severity.rank() for severity in Severity}


def yes(value: str) -> bool:
    """A ``YES_NO`` filter's value as a boolean."""
    return value == "true"


def _open_finding(**conditions):
    return Exists(Finding.objects.filter(key=OuterRef("pk"), resolved_at__isnull=True,
                                         exception__isnull=True, **conditions))


# Up to this many search matches are read first and passed as a list of ids (one query
# more, the same whatever the data); beyond it the union stays a subquery.
SEARCH_MATCHES_LISTED = 1000


def _searched_key_ids(value: str):
    """Ids of the keys whose id, IAM user name or tags, or owner e-mail contain ``value``.

    One OR across the joined key, user and person rows made Postgres read all 100,000 keys
    twice (count and page). As a union of narrow lookups each side uses its own index: the
    trigram indexes of migration 0008 on key ids, user names and tags, the foreign-key
    indexes from users and owners to their keys, and plain equality for a whole key id.
    """
    if FULL_KEY_ID.match(value.upper()):
        by_key_id = AccessKey.objects.filter(access_key_id=value.upper())
    else:
        by_key_id = AccessKey.objects.filter(access_key_id__icontains=value)
    users = IamUser.objects.filter(Q(name__icontains=value) | Q(tags__icontains=value))
    people = Person.objects.filter(email__icontains=value)
    ids = [keys.order_by().values("pk") for keys in (
        by_key_id, AccessKey.objects.filter(user__in=users.values("pk")),
        AccessKey.objects.filter(owner__in=people.values("pk")))]
    return ids[0].union(*ids[1:])


def visible_accounts(request):
    """The accounts a person may filter by (``AwsAccount.objects.visible_to``): neither the
    choices nor the answer to a guessed account id reveal an account outside their scope."""
    return AwsAccount.objects.visible_to(getattr(request, "user", None))


class KeyFilter(filters.FilterSet):
    q = filters.CharFilter(method="search", label="Search",
                           help_text="key id, IAM user, owner e-mail or tag value")
    account = filters.ModelChoiceFilter(queryset=visible_accounts, label="Account")
    status = filters.ChoiceFilter(choices=AccessKey.Status.choices, label="Status")
    severity = filters.ChoiceFilter(
        choices=[(s.value, s.value.title()) for s in Severity], method="by_severity",
        label="Severity", help_text="the worst open finding of the key's own (not its "
        "account's)")
    finding = filters.ChoiceFilter(choices=[(c, RULES[c].title) for c in sorted(RULES)],
                                   method="by_finding", label="Finding")
    element = filters.ChoiceFilter(choices=[(e.value, e.value.title()) for e in Element],
                                   method="by_element", label="Failing")
    compliance = filters.ChoiceFilter(choices=Compliance.choices, label="Compliance")
    owner = filters.CharFilter(method="by_owner", label="Owner",
                               help_text="an e-mail, or 'none' for keys without owner")
    age = filters.ChoiceFilter(choices=[(b, f"{b} days") for b in AGE_CHOICES],
                               method="by_age", label="Age")
    last_used = filters.ChoiceFilter(
        choices=[("never", "never")] + [(b, f"{b} days ago") for b in LAST_USED_CHOICES],
        method="by_last_used", label="Last used")
    undeclared_source = filters.ChoiceFilter(
        choices=YES_NO_LABELS, method="by_undeclared_source",
        label="Used from an undeclared address", help_text=UNDECLARED_HELP,
        widget=forms.Select(attrs={"title": UNDECLARED_HELP}))
    unused_in_window = filters.ChoiceFilter(
        choices=YES_NO_LABELS, method="by_unused_in_window",
        label="Not used in the window (needs the trail read)", help_text=UNUSED_HELP,
        widget=forms.Select(attrs={"title": UNUSED_HELP}))
    removed = filters.BooleanFilter(method="with_removed", label="Removed too",
                                    widget=forms.CheckboxInput)
    sort = filters.ChoiceFilter(choices=[(s, SORT_LABELS[s]) for s in SORTS], method="sorted",
                                label="Sort")

    class Meta:
        model = AccessKey
        fields: list[str] = []

    @property
    def qs(self):
        queryset = super().qs
        if not self.form.cleaned_data.get("removed"):
            queryset = queryset.filter(removed_at__isnull=True)
        if not self.form.cleaned_data.get("sort"):
            queryset = self.sorted(queryset, "sort", DEFAULT_SORT)
        return queryset

    def search(self, queryset, _name, value):
        value = value.strip()[:128]
        if not value:
            return queryset
        ids = _searched_key_ids(value)
        found = [row["pk"] for row in ids[:SEARCH_MATCHES_LISTED + 1]]
        if len(found) <= SEARCH_MATCHES_LISTED:
            # A handful of matches: hand Postgres the ids. Given the union as a subquery,
            # it estimated many matches and walked the sort order's index (``risk``),
            # testing each of 100,000 keys against the union: 2x slower for one key.
            return queryset.filter(pk__in=found)
        return queryset.filter(pk__in=ids)

    def by_severity(self, queryset, _name, value):
        return queryset.filter(risk=SEVERITY_RISK[value])

    def by_finding(self, queryset, _name, value):
        return queryset.filter(_open_finding(code=value))

    def by_element(self, queryset, _name, value):
        above_low = [s.value for s in Severity if s != Severity.LOW]
        return queryset.filter(_open_finding(element=value, severity__in=above_low))

    def by_owner(self, queryset, _name, value):
        value = value.strip()
        if value.lower() == "none":
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner__email__iexact=value) if value else queryset

    def by_age(self, queryset, _name, value):
        return queryset.filter(AGE_CHOICES[value].q("created_at", timezone.now()))

    def by_last_used(self, queryset, _name, value):
        if value == "never":
            return queryset.filter(last_used_at__isnull=True)
        return queryset.filter(LAST_USED_CHOICES[value].q("last_used_at", timezone.now()))

    def by_undeclared_source(self, queryset, _name, value):
        """The keys whose Usage panel shows an undeclared address: the rule that judges
        the same evidence the same way (``UNEXPECTED_SOURCE``) keeps a finding open on
        them, so the per-key declared CIDRs are never matched in SQL."""
        used_outside = Exists(Finding.objects.filter(
            key=OuterRef("pk"), code="UNEXPECTED_SOURCE", resolved_at__isnull=True))
        return queryset.filter(used_outside if yes(value) else ~used_outside)

    def by_unused_in_window(self, queryset, _name, value):
        """Active keys the trail saw no event of in the window (``true``), or the keys it
        saw (``false``). A root key has no id the trail names: never in either list."""
        since = window_start(timezone.now().date())
        seen = Exists(KeyUsageDay.objects.filter(access_key_id=OuterRef("access_key_id"),
                                                 day__gte=since))
        keys = queryset.filter(access_key_id__isnull=False)
        if yes(value):
            return keys.filter(~seen, status=AccessKey.Status.ACTIVE)
        return keys.filter(seen)

    def with_removed(self, queryset, _name, value):
        return queryset

    def sorted(self, queryset, _name, value):
        return queryset.order_by(*SORTS[value], "pk")


class ExceptionFilter(filters.FilterSet):
    """Exception requests: the exceptions page (within its tab) and the API's list."""

    key = filters.NumberFilter(field_name="key_id", label="Key id")
    code = filters.ChoiceFilter(choices=[(c, c) for c in sorted(RULES)], label="Finding code")
    status = filters.ChoiceFilter(choices=ExceptionRequest.Status.choices)
    awaiting = filters.ChoiceFilter(choices=YES_NO, method="by_awaiting",
                                    label="Awaiting my decision")
    mine = filters.ChoiceFilter(choices=YES_NO, method="by_mine", label="Requested by me")
    requester = filters.CharFilter(field_name="requested_by__email", lookup_expr="iexact",
                                   max_length=254, label="Requested by (e-mail)")

    class Meta:
        model = ExceptionRequest
        fields: list[str] = []

    def by_awaiting(self, queryset, _name, value):
        mine = ExceptionRequest.objects.awaiting_decision_by(self.request.user).values("pk")
        return queryset.filter(pk__in=mine) if yes(value) else queryset.exclude(pk__in=mine)

    def by_mine(self, queryset, _name, value):
        if yes(value):
            return queryset.filter(requested_by=self.request.user)
        return queryset.exclude(requested_by=self.request.user)


class QueryTextField(forms.CharField):
    """Free text from a query string, as ``untrusted.query_text`` reads it: control
    characters removed, trimmed, cut to ``limit`` characters; never refused."""

    def __init__(self, *, limit: int, **kwargs):
        self.limit = limit
        super().__init__(**kwargs)

    def to_python(self, value):
        return query_text(super().to_python(value), self.limit)


class QueryTextFilter(filters.CharFilter):
    field_class = QueryTextField


class AuditEventFilter(filters.FilterSet):
    """The audit log page and its CSV export: by action, by who acted, by text of the
    summary or object id, and by a range of days (UTC, both ends included)."""

    action = QueryTextFilter(field_name="action", limit=60, label="Action")
    actor = QueryTextFilter(field_name="actor_label", lookup_expr="icontains", limit=254,
                            label="Who")
    q = QueryTextFilter(method="by_text", limit=200, label="Text or object id")
    since = filters.DateFilter(field_name="at", lookup_expr="date__gte", label="From")
    until = filters.DateFilter(field_name="at", lookup_expr="date__lte", label="To")

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def by_text(self, queryset, _name, value):
        return queryset.filter(Q(summary__icontains=value) | Q(object_id=value))
