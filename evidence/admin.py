"""Admin pages for usage evidence: read-only, since every row is the trail reader's.

The counts are reduced from CloudTrail's log files and the watermarks say how far reading
got; an edit here would make the evidence say something the trail never did.
"""

from django.contrib import admin

from governance.admin import ReadOnlyAdmin

from .models import KeyUsageAddress, KeyUsageDay, TrailObject, TrailWatermark


@admin.register(KeyUsageDay)
class KeyUsageDayAdmin(ReadOnlyAdmin):
    list_display = ["access_key_id", "account_id", "day", "events", "errors", "updated_at"]
    list_filter = ["day"]
    search_fields = ["access_key_id", "account_id"]


@admin.register(KeyUsageAddress)
class KeyUsageAddressAdmin(ReadOnlyAdmin):
    list_display = ["access_key_id", "day", "address", "via_aws_service", "events",
                    "first_seen", "last_seen"]
    list_filter = ["via_aws_service", "day"]
    search_fields = ["access_key_id", "address"]


@admin.register(TrailWatermark)
class TrailWatermarkAdmin(ReadOnlyAdmin):
    list_display = ["account_id", "region", "day", "updated_at"]
    search_fields = ["account_id"]


@admin.register(TrailObject)
class TrailObjectAdmin(ReadOnlyAdmin):
    list_display = ["key", "account_id", "region", "day", "status", "records", "events_kept",
                    "read_at"]
    list_filter = ["status", "region"]
    search_fields = ["key", "account_id"]
