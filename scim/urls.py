"""SCIM 2.0 (RFC 7643/7644), mounted at /scim/v2/."""

from django.urls import path, re_path

from .views import scim_endpoint

urlpatterns = [
    path("", scim_endpoint, name="scim-root"),
    re_path(r"^(?P<path>.+)$", scim_endpoint, name="scim"),
]
