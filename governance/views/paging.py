"""Pagination that never errors: a bad or too-large page number shows the nearest page."""

from django.core.paginator import Paginator

PAGE_SIZE = 50


def page_of(request, queryset, per_page: int = PAGE_SIZE):
    """The requested page of ``queryset`` and a query string to build page links with."""
    paginator = Paginator(queryset, per_page)
    page = paginator.get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return page, params.urlencode()
