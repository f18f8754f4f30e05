from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Person


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
