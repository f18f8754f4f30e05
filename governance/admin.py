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
    list_display = ["account_id", "name", "enabled", "source", "last_synced_at",
                    "root_keys_present", "cloudtrail_logging"]
    list_filter = ["enabled", "source", "root_keys_present", "cloudtrail_logging"]
    search_fields = ["account_id", "name"]
    readonly_fields = ["created_at", "last_synced_at", "root_keys_present", "cloudtrail_logging",
                       "cloudtrail_trails", "credential_report_at"]


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
