"""Placeholder: being written."""

from django.http import Http404


def key_register(request, pk=None):
    raise Http404
