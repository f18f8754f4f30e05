"""Dashboard URLs. Page families live in their own modules under ``governance.views``."""

from django.urls import include, path

from .views import accounts, audit, inventory, overview

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("keys/", inventory.inventory, name="inventory"),
    path("keys/export.csv", inventory.inventory_export, name="inventory-export"),
    path("keys/lookup/", inventory.key_lookup, name="key-lookup"),
    path("keys/<int:pk>/", inventory.key_detail, name="key-detail"),
    path("keys/<int:pk>/deactivate/", inventory.key_deactivate_view, name="key-deactivate"),
    path("aws-accounts/", accounts.aws_accounts, name="aws-accounts"),
    path("aws-accounts/<int:pk>/toggle/", accounts.aws_account_toggle, name="aws-account-toggle"),
    path("aws-accounts/<int:pk>/sync/", accounts.aws_account_sync, name="aws-account-sync"),
    path("aws-accounts/<int:pk>/progress/", accounts.aws_account_progress,
         name="aws-account-progress"),
    path("audit/", audit.audit_log, name="audit-log"),
    path("", include("governance.urls_workflows")),
]
