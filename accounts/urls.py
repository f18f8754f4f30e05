"""The signed-in person's own pages, mounted under /me/."""

from django.urls import path

from . import views

urlpatterns = [
    path("api-tokens/", views.api_tokens, name="api-tokens"),
    path("api-tokens/<int:pk>/revoke/", views.api_token_revoke_view, name="api-token-revoke"),
]
