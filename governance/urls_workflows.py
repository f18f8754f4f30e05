"""Owner, manager and security workflows: ownership, purpose, rotation and exceptions."""

from django.urls import path

from .views import exceptions, ownership, purpose

urlpatterns = [
    path("my-keys/", ownership.my_keys, name="my-keys"),
    path("gaps/", ownership.ownership_gaps, name="ownership-gaps"),
    path("rotation/", ownership.rotation, name="rotation"),
    path("keys/<int:pk>/owner/", ownership.key_assign_owner, name="key-assign-owner"),
    path("keys/<int:pk>/purpose/", purpose.key_register, name="key-register"),
    path("keys/<int:pk>/exceptions/new/", exceptions.exception_new, name="exception-new"),
    path("exceptions/", exceptions.exception_list, name="exceptions"),
    path("exceptions/<int:pk>/", exceptions.exception_detail, name="exception-detail"),
]
