"""Placeholder: being written."""

from django.http import Http404


def exception_new(request, pk=None):
    raise Http404


def exception_list(request, pk=None):
    raise Http404


def exception_detail(request, pk=None):
    raise Http404
