"""Admin pages for reduction: read-only, since every row is a service's or a read's.

A plan moves only through ``reduction.services`` (each step audited, ``done`` only when a sync
sees the key deleted), so the admin can look but not add, change or delete one; the Identity
Center and OIDC facts are replaced by each read and would be overwritten by the next anyway.
"""

from django.contrib import admin

from governance.admin import ReadOnlyAdmin

from .models import (
    IdentityCenterAssignment,
    IdentityCenterPerson,
    MigrationPlan,
    OidcProviderListing,
)


@admin.register(MigrationPlan)
class MigrationPlanAdmin(ReadOnlyAdmin):
    list_display = ["key", "path", "state", "target_date", "opened_by", "state_changed_at",
                    "done_at"]
    list_filter = ["state", "path"]
    search_fields = ["key__access_key_id", "key__user__name", "opened_by__email"]
    list_select_related = ["key", "key__user", "opened_by"]


class IdentityCenterAssignmentInline(admin.TabularInline):
    model = IdentityCenterAssignment
    extra = 0
    can_delete = False
    readonly_fields = ["account_id", "permission_set_name", "permission_set_arn",
                       "via_group_id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IdentityCenterPerson)
class IdentityCenterPersonAdmin(ReadOnlyAdmin):
    list_display = ["email", "user_name", "display_name", "user_id", "read_at"]
    search_fields = ["email", "user_name", "display_name"]
    inlines = [IdentityCenterAssignmentInline]


@admin.register(OidcProviderListing)
class OidcProviderListingAdmin(ReadOnlyAdmin):
    list_display = ["account", "issuers", "read_at"]
    list_select_related = ["account"]
