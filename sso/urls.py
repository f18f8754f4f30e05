"""Sign-in through the OpenID provider, mounted under /oidc/."""

from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.oidc_sign_in, name="oidc-sign-in"),
    path("callback/", views.oidc_callback, name="oidc-callback"),
    path("signed-out/", views.signed_out, name="oidc-signed-out"),
]
