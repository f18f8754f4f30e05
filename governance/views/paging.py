"""Pagination that never errors: a bad or too-large page number shows the nearest page."""

import hashlib

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections, router
from django.db.models import Count
from django.utils.functional import cached_property

PAGE_SIZE = 50
COUNT_CACHE_SECONDS = 300


def page_of(request, queryset, per_page: int = PAGE_SIZE, param: str = "page",
            paginator_class=Paginator):
    """The page of ``queryset`` named by ``param`` and the query string without it, to build
    page links with. ``get_page`` turns any bad number (0, -1, 'abc', 10**30) into a page."""
    paginator = paginator_class(queryset, per_page)
    page = paginator.get_page(request.GET.get(param))
    params = request.GET.copy()
    params.pop(param, None)
    return page, params.urlencode()


def _database_snapshot(using: str) -> str | None:
    """The Postgres snapshot the next statement reads through, or None when a count must
    not be reused (another database, or this transaction has written: its own changes are
    invisible in the snapshot text)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned()")
        snapshot, own_transaction = cursor.fetchone()
    return None if own_transaction is not None else snapshot


def reuse_while_unchanged(queryset, what: str, compute):
    """``compute()``, or the value it returned for the same ``queryset`` while the database
    showed exactly the same data.

    Two equal Postgres snapshots (``xmin:xmax:in-progress``) see exactly the same committed
    transactions, so a value computed under one is exact under the other: any write committed
    since changes the snapshot and ``compute`` runs again. The key holds the query's SQL and
    parameters, hence its filters and the person's visibility. Elsewhere (SQLite, or inside a
    transaction that has written) it always computes; so does a queryset that can match
    nothing (``.none()``, an invalid filter, ``pk__in=[]``): it has no SQL to key on, and
    computing it reads nothing.
    """
    using = router.db_for_read(queryset.model)
    snapshot = _database_snapshot(using)
    if snapshot is None:
        return compute()
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return compute()
    name = connections[using].settings_dict["NAME"]
    digest = hashlib.sha256(repr((what, name, snapshot, sql, params)).encode()).hexdigest()
    key = f"keyledger:{what}:{digest}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, COUNT_CACHE_SECONDS)
    return value


class SnapshotCountPaginator(Paginator):
    """A paginator whose count is reused while the data is unchanged: counting every
    matching key cost 20-60 ms of each inventory page view at 100,000 keys."""

    @cached_property
    def count(self):
        return reuse_while_unchanged(self.object_list, "count",
                                     lambda: Paginator.count.func(self))


class LeadingFieldSeek:
    """``queryset`` (ordered first by ``field``) for a Paginator, whose deep pages skip whole
    groups of rows sharing a ``field`` value instead of reading every row before them.

    ``OFFSET 24950`` in the inventory's default order (account name, user name, ...) joined
    and sorted 25,000 keys, ~75 ms. Here the rows per ``field`` value (one grouped count,
    reused while the data is unchanged) give the value the page starts in and how many rows
    come before it; the page is then read from that value on, with a small offset. The rows
    are the same: everything before that value sorts before the page.
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

    def _groups(self) -> list[tuple]:
        grouped = (self.queryset.order_by(self.field).values_list(self.field)
                   .annotate(rows=Count("pk")))
        return reuse_while_unchanged(self.queryset, f"groups:{self.field}",
                                     lambda: list(grouped))

    def __getitem__(self, item):
        if not isinstance(item, slice) or (item.start or 0) < self.SEEK_FROM \
                or item.stop is None:
            return self.queryset[item]
        start, before = item.start, 0
        for value, rows in self._groups():
            if value is None:
                break
            if before + rows > start:
                return self.queryset.filter(**{f"{self.field}__gte": value})[
                    start - before:item.stop - before]
            before += rows
        return self.queryset[item]
