"""Read-only admin views: the outbox is a record, never edited by hand."""

from django.contrib import admin

from .models import Notification, NotificationPreference


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("sent_at", "kind", "address", "title")
    list_filter = ("kind", "channel")
    search_fields = ("address", "title", "subject")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("person", "digests", "updated_at")
