"""Pagination that never errors: a bad or too-large page number shows the nearest page.

Long lists are counted only up to ``COUNT_CAP`` (one ``COUNT`` over a ``LIMIT``ed subquery,
as Sentry's ``count_hits`` does) and say "10,000+": an exact count of 100,000 keys cost as
much as the page itself, on every view.
"""

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import F, QuerySet, Window
from django.db.models.functions import Rank
from django.utils.functional import cached_property

PAGE_SIZE = 50
COUNT_CAP = 10_000
# Offsets past this are past any list Keyledger holds (and past what Postgres accepts as an
# OFFSET): such a page number shows the last page.
MAX_OFFSET = 10**9


def page_of(request, queryset, per_page: int = PAGE_SIZE, param: str = "page",
            paginator_class=Paginator):
    """The page of ``queryset`` named by ``param`` and the query string without it, to build
    page links with. ``get_page`` turns any bad number (0, -1, 'abc', 10**30) into a page."""
    paginator = paginator_class(queryset, per_page)
    page = paginator.get_page(request.GET.get(param))
    params = request.GET.copy()
    params.pop(param, None)
    return page, params.urlencode()


def count_up_to(rows, limit: int) -> int:
    """How many ``rows`` there are, or ``limit`` when there are at least that many; a
    queryset reads at most ``limit`` rows to tell."""
    queryset = rows.queryset if isinstance(rows, LeadingFieldSeek) else rows
    if isinstance(queryset, QuerySet):
        return queryset.order_by()[:limit].count()
    return min(len(rows), limit)


class CappedPage(Page):
    """A page past the counted rows: whether another follows was read with the page."""

    def __init__(self, object_list, number, paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more


class CappedCountPaginator(Paginator):
    """A paginator that counts at most ``COUNT_CAP + 1`` rows.

    Below the cap it is Django's. Past it, ``capped`` is true, ``count`` is ``COUNT_CAP + 1``
    and ``count_label`` reads "10,000+"; any page number is served while the page has rows
    (page 500 of 100,000 keys reads its 51 rows, one to know a next page exists), and a page
    past the end shows the last page, the rows counted in full for that once.
    """

    cap = COUNT_CAP
    exact = False  # whether ``count`` is exact past the cap

    @cached_property
    def count(self) -> int:
        return count_up_to(self.object_list, self.cap + 1)

    @property
    def capped(self) -> bool:
        return not self.exact and self.count > self.cap

    @property
    def count_label(self) -> str:
        return f"{self.cap:,}+" if self.capped else str(self.count)

    def _count_every_row(self) -> None:
        # Read on the class, count is Django's cached_property, whose .func is the uncached
        # count; mypy types it as the bare method.
        self.count, self.exact = Paginator.count.func(self), True  # type: ignore[attr-defined]
        self.__dict__.pop("num_pages", None)

    def validate_number(self, number):
        try:
            return super().validate_number(number)
        except EmptyPage:
            if not self.capped:
                raise
            number = int(number)  # Django has parsed it: only its range was refused
            if number < 1 or (number - 1) * self.per_page >= MAX_OFFSET:
                raise
            return number

    def get_page(self, number):
        try:
            number = self.validate_number(number)
        except PageNotAnInteger:
            number = 1
        except EmptyPage:  # Django's answer, the last page, needs every row counted
            if self.capped:
                self._count_every_row()
            number = self.num_pages
        return self.page(number)

    def page(self, number):
        number = self.validate_number(number)
        if not self.capped or number < self.num_pages:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom:bottom + self.per_page + 1])
        if not rows:  # past the end
            self._count_every_row()
            return self.page(self.num_pages)
        return CappedPage(rows[:self.per_page], number, self,
                          more=len(rows) > self.per_page)


class LeadingFieldSeek:
    """``queryset`` (ordered first by ``field``) for a Paginator, whose deep pages start from
    the ``field`` value the page starts in instead of reading every row before them.

    ``OFFSET 24950`` in the inventory's default order (account name, user name, ...) joined
    every key before the page to its IAM user to sort them, ~100 ms at 100,000 keys. Here the
    value at the page's first row, and how many rows sort before that value, are read in one
    pass in ``field`` order alone, which needs no other join and no sort (the accounts' name
    index); the page is then read from that value on, with a small offset. The rows are the
    same: everything before that value sorts before the page.
    """

    ordered = True
    SEEK_FROM = 1000  # offsets below this are cheaper read directly

    def __init__(self, queryset, field: str):
        self.queryset, self.field = queryset, field
        self.model, self.query = queryset.model, queryset.query

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item):
        if not isinstance(item, slice) or (item.start or 0) < self.SEEK_FROM \
                or item.stop is None:
            return self.queryset[item]
        start = item.start
        # rank(): 1 + the rows whose value sorts before this one's, read in the same pass
        leading = (self.queryset.order_by(self.field)
                   .annotate(rank=Window(Rank(), order_by=F(self.field).asc()))
                   .values_list(self.field, "rank"))
        value, rank = next(iter(leading[start:start + 1]), (None, None))
        if value is None:  # past the end, or a null value: read it directly
            return self.queryset[item]
        before = rank - 1
        return self.queryset.filter(**{f"{self.field}__gte": value})[
            start - before:item.stop - before]
