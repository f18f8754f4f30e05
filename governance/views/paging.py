"""Pagination that never errors: a bad or too-large page number shows the nearest page."""

from django.core.paginator import Paginator

PAGE_SIZE = 50


def page_of(request, queryset, per_page: int = PAGE_SIZE, param: str = "page"):
    """The page of ``queryset`` named by ``param`` and the query string without it, to build
    page links with. ``get_page`` turns any bad number (0, -1, 'abc', 10**30) into a page."""
    paginator = Paginator(queryset, per_page)
    page = paginator.get_page(request.GET.get(param))
    params = request.GET.copy()
    params.pop(param, None)
    return page, params.urlencode()
