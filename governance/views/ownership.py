"""Placeholder: being written."""

from django.http import Http404


def my_keys(request, pk=None):
    raise Http404


def ownership_gaps(request, pk=None):
    raise Http404


def rotation(request, pk=None):
    raise Http404


def key_assign_owner(request, pk=None):
    raise Http404
