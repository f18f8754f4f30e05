"""Admin pages for every model: read-mostly, since AWS data is owned by the sync."""

from django.contrib import admin

from .models import (
    AccessKey,
    AccessKeyEvent,
    AuditEvent,
    AwsAccount,
    AwsManagedPolicy,
    IamUser,
    PolicyDocument,
    SyncRun,
)
from .services.accounts import account_add, account_update


class ReadOnlyAdmin(admin.ModelAdmin):
    """AWS-sourced and audit rows change only through syncs and services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AwsAccount)
class AwsAccountAdmin(admin.ModelAdmin):
    """Accounts, added and changed only through the audited services; never deleted here
    (disable one instead: its keys and their history stay)."""

    list_display = ["account_id", "name", "enabled", "source", "last_synced_at",
                    "root_keys_present", "cloudtrail_logging"]
    list_filter = ["enabled", "source", "root_keys_present", "cloudtrail_logging"]
    search_fields = ["account_id", "name"]
    readonly_fields = ["source", "created_at", "last_synced_at", "root_keys_present",
                       "cloudtrail_logging", "cloudtrail_trails", "credential_report_at",
                       "keys_listed_at"]

    def get_readonly_fields(self, request, obj=None):
        # account_add registers an account enabled; it can be disabled once it exists.
        return [*self.readonly_fields, "account_id"] if obj else [*self.readonly_fields,
                                                                   "enabled"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            account_update(actor=request.user, account=obj, name=data["name"],
                           role_arn=data["role_arn"], external_id=data["external_id"],
                           enabled=data["enabled"])
            return
        created = account_add(actor=request.user, account_id=data["account_id"],
                              name=data["name"], role_arn=data["role_arn"],
                              external_id=data["external_id"])
        obj.pk = created.pk
        obj._state.adding = False
        obj.refresh_from_db()


@admin.register(IamUser)
class IamUserAdmin(ReadOnlyAdmin):
    list_display = ["name", "account", "password_enabled", "created_at", "removed_at"]
    list_filter = ["account", "password_enabled"]
    search_fields = ["name", "user_id", "arn"]


class AccessKeyEventInline(admin.TabularInline):
    model = AccessKeyEvent
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "at", "sync_run"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AccessKey)
class AccessKeyAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "user", "account", "status", "created_at", "last_used_at",
                    "removed_at"]
    list_filter = ["status", "account"]
    search_fields = ["access_key_id", "user__name"]
    list_select_related = ["user", "account"]
    inlines = [AccessKeyEventInline]


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["account", "status", "trigger", "started_at", "finished_at", "keys_seen",
                    "rows_written", "aws_calls", "failure_kind"]
    list_filter = ["status", "failure_kind", "account"]
    list_select_related = ["account"]


@admin.register(PolicyDocument)
class PolicyDocumentAdmin(ReadOnlyAdmin):
    list_display = ["digest", "first_seen_at"]


@admin.register(AwsManagedPolicy)
class AwsManagedPolicyAdmin(ReadOnlyAdmin):
    list_display = ["arn", "version_id", "fetched_at"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "action", "object_type", "object_id", "summary"]
    list_filter = ["action", "object_type"]
    search_fields = ["summary", "object_id", "actor_label"]
