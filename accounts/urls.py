"""Placeholder: being written."""

from django.http import Http404
from django.urls import path


def api_tokens(request):
    raise Http404


urlpatterns = [path("api-tokens/", api_tokens, name="api-tokens")]
