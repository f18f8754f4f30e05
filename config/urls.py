"""Top-level URLs: sign-in (password or OpenID), the dashboard, the JSON API, SCIM and the
admin."""

from django.contrib import admin
from django.urls import include, path

from sso import views as sso_views

from .health import health

urlpatterns = [
    path("health/", health, name="health"),
    path("login/", sso_views.SignInView.as_view(), name="login"),
    path("logout/", sso_views.sign_out, name="logout"),
    path("oidc/", include("sso.urls")),
    path("scim/v2/", include("scim.urls")),
    path("api/v1/", include("governance.api.urls")),
    path("me/", include("accounts.urls")),
    path("notifications/", include("notifications.urls")),
    path("issuance/", include("reduction.issuance_urls")),
    path("admin/", admin.site.urls),
    path("", include("reduction.urls")),
    path("", include("reduction.burndown_urls")),
    path("", include("governance.urls")),
]
