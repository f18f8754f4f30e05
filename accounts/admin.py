from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db import transaction

from core.errors import NotAllowed

from .models import ApiToken, Person
from .services import person_create, person_password_changed, person_update
from .tokens import api_token_revoke

VIA = "admin"
# What the change page edits, all written by ``person_update`` (audited).
PERSON_FIELDS = ("email", "name", "manager", "is_active", "is_staff", "is_superuser", "groups")


@admin.register(Person)
class PersonAdmin(UserAdmin):
    """People, changed only through the audited services of ``accounts.services``.

    A person is never deleted: deactivating them ends their sessions and API tokens, and
    their name stays on the audit log and on their keys' history.
    """

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

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            person_update(actor=request.user, person=obj, via=VIA,
                          **{f: form.cleaned_data[f] for f in PERSON_FIELDS
                             if f in form.cleaned_data})
            return
        # The add form has already set (or disabled) the password on ``obj``.
        password = form.cleaned_data.get("password1") if obj.has_usable_password() else None
        created = person_create(actor=request.user, email=form.cleaned_data["email"],
                                name=form.cleaned_data.get("name", ""), password=password,
                                via=VIA)
        obj.pk = created.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        """Groups were written with the rest by the service; never by the form."""
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def user_change_password(self, request, id, form_url=""):
        """Django's password page, audited in the same transaction when it changed anything."""
        with transaction.atomic():
            before = Person.objects.select_for_update().filter(pk=id).first() \
                if str(id).isdigit() else None
            response = super().user_change_password(request, id, form_url)
            if before is not None:
                after = Person.objects.get(pk=before.pk)
                if after.password != before.password:
                    person_password_changed(actor=request.user, person=after, via=VIA,
                                            had_password=before.has_usable_password())
        return response


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only view of API tokens; never the digest. People create tokens on their page."""

    list_display = ["name", "person", "prefix", "created_at", "expires_at", "last_used_at",
                    "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "person__email"]
    # A tuple, which both attributes' types accept (one list shared by the two could not be:
    # django-stubs gives them lists of different element types, and lists are invariant).
    fields = ("person", "name", "prefix", "created_at", "expires_at", "last_used_at",
              "revoked_at")
    readonly_fields = fields
    list_select_related = ["person"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected tokens (audited)")
    def revoke(self, request, queryset):
        try:
            for token in queryset:
                api_token_revoke(actor=request.user, token=token)
        except NotAllowed as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
        else:
            self.message_user(request, f"{queryset.count()} token(s) revoked.")
