"""Dashboard URLs. Page families live in their own modules under ``governance.views``."""

from django.urls import path

from .views import (
    accounts,
    audit,
    exceptions,
    incident,
    inventory,
    overview,
    ownership,
    purpose,
    team,
)

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("keys/", inventory.inventory, name="inventory"),
    path("keys/export.csv", inventory.inventory_export, name="inventory-export"),
    path("keys/lookup/", inventory.key_lookup, name="key-lookup"),
    path("keys/<int:pk>/", inventory.key_detail, name="key-detail"),
    path("keys/<int:pk>/deactivate/", inventory.key_deactivate_view, name="key-deactivate"),
    path("keys/<int:pk>/incident/", incident.key_incident_view, name="key-incident"),
    path("keys/<int:pk>/incident.json", incident.key_incident_export, name="key-incident-export"),
    path("aws-accounts/", accounts.aws_accounts, name="aws-accounts"),
    path("aws-accounts/<int:pk>/toggle/", accounts.aws_account_toggle, name="aws-account-toggle"),
    path("aws-accounts/<int:pk>/sync/", accounts.aws_account_sync, name="aws-account-sync"),
    path("aws-accounts/<int:pk>/progress/", accounts.aws_account_progress,
         name="aws-account-progress"),
    path("audit/", audit.audit_log, name="audit-log"),
    path("audit/export.csv", audit.audit_log_export, name="audit-log-export"),
    # Owner, manager and security workflows: ownership, purpose, rotation and exceptions.
    path("my-keys/", ownership.my_keys, name="my-keys"),
    path("gaps/", ownership.ownership_gaps, name="ownership-gaps"),
    path("gaps/assign/", ownership.ownership_gaps_assign, name="ownership-gaps-assign"),
    path("keys/<int:pk>/nudge/", ownership.key_nudge_owner, name="key-nudge-owner"),
    path("team/", team.my_team, name="my-team"),
    path("team/<int:pk>/findings/", team.team_member_findings, name="team-findings"),
    path("team/left/", ownership.leaver_queue, name="leaver-keys"),
    path("team/left/<int:pk>/reassign/", ownership.leaver_key_reassign,
         name="leaver-key-reassign"),
    path("rotation/", ownership.rotation, name="rotation"),
    path("keys/<int:pk>/owner/", ownership.key_assign_owner, name="key-assign-owner"),
    path("keys/<int:pk>/purpose/", purpose.key_register, name="key-register"),
    path("keys/<int:pk>/exceptions/new/", exceptions.exception_new, name="exception-new"),
    path("exceptions/", exceptions.exception_list, name="exceptions"),
    path("exceptions/<int:pk>/", exceptions.exception_detail, name="exception-detail"),
]
