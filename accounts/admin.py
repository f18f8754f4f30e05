from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import ApiToken, Person


@admin.register(Person)
class PersonAdmin(UserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "manager", "is_active", "is_staff"]
    list_filter = ["is_active", "is_staff", "groups"]
    search_fields = ["email", "name"]
    autocomplete_fields = ["manager"]
    fieldsets = [
        (None, {"fields": ["email", "name", "manager", "password"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    readonly_fields = ["last_login", "date_joined"]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "name", "password1", "password2"]}),
    ]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only view of API tokens; never the digest. People create tokens on their page."""

    list_display = ["name", "person", "prefix", "created_at", "expires_at", "last_used_at",
                    "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "person__email"]
    fields = ["person", "name", "prefix", "created_at", "expires_at", "last_used_at",
              "revoked_at"]
    readonly_fields = fields
    list_select_related = ["person"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected tokens (audited)")
    def revoke(self, request, queryset):
        from django.contrib import messages

        from governance.errors import NotAllowed

        from .tokens import api_token_revoke

        try:
            for token in queryset:
                api_token_revoke(actor=request.user, token=token)
        except NotAllowed as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
        else:
            self.message_user(request, f"{queryset.count()} token(s) revoked.")
