"""Every read the pages, the API and the commands need, scoped to the person and returned as
data (querysets, lists, dataclasses); shaping it for display (charts, markup) is the view's.

Visibility itself lives on the querysets (``AccessKey.objects.visible_to`` and its siblings);
these functions start from it and load what lists need without a query per row. Fetching the
one object a view acts on is ``governance.access`` (``key_for``, ...): within scope, or 404.
"""

from .accounts import (
    accounts_with_runs,
    accounts_with_status,
    not_synced_recently,
    sync_running,
)
from .audit import AuditChain, audit_actions, audit_chain, audit_events_visible_to
from .exceptions import (
    ExceptionPage,
    decisions_awaiting_count,
    exception_listing,
    exception_page,
    exception_requests_for,
    waivable_findings,
)
from .keys import (
    GAP_CODES,
    ElementVerdict,
    KeyPage,
    account_choices,
    account_with_id,
    assignable_owners,
    current_registration,
    exportable_keys,
    findings_visible_to,
    key_page,
    key_scorecard,
    key_with_id,
    keys_for_listing,
    keys_of_reports,
    keys_owned_by,
    keys_with_gaps,
    listing_page,
    open_findings_prefetch,
    with_export_columns,
)
from .overview import SHOWN_SEVERITIES, Overview, overview_of
from .rotation import ROTATION_STATES, rotation_by_account, rotation_listing, rotation_totals

__all__ = [
    "GAP_CODES", "ROTATION_STATES", "SHOWN_SEVERITIES", "AuditChain", "ElementVerdict",
    "ExceptionPage", "KeyPage",
    "Overview", "account_choices", "account_with_id", "accounts_with_runs", "accounts_with_status",
    "assignable_owners", "audit_actions", "audit_chain", "audit_events_visible_to",
    "current_registration", "decisions_awaiting_count", "exception_listing", "exception_page",
    "exception_requests_for", "exportable_keys", "findings_visible_to", "key_page",
    "key_scorecard", "key_with_id", "keys_for_listing", "keys_of_reports", "keys_owned_by",
    "keys_with_gaps", "listing_page", "not_synced_recently", "open_findings_prefetch",
    "overview_of",
    "rotation_by_account", "rotation_listing", "rotation_totals", "sync_running",
    "waivable_findings", "with_export_columns"
]
