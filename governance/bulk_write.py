"""Save a few columns of many rows at once, the way the evaluation rewrites keys and findings.

On Postgres, one ``UPDATE … FROM (VALUES …)`` per batch: each row is one tuple of parameters
and the statement is the same size whatever the values. Django's ``bulk_update`` builds a
``CASE WHEN pk = … THEN …`` per row and column instead, which Postgres then matches row by
row: `make bench` (section ``bulk_write``) measures both on 100,000 keys, and that is why
this module exists. Elsewhere (the SQLite demo), ``bulk_update``.
"""

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model

BATCH = 1000


def update_columns(model: type[Model], rows: Sequence[Model], fields: Sequence[str], *,
                   batch_size: int = BATCH) -> int:
    """Save ``fields`` of ``rows`` (instances with their pk set); returns the rows matched.

    The values are bound parameters, each cast to its column's type, so any text (IAM tag
    values, reasons quoting them) is data, never SQL; ``None`` writes NULL.
    """
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_update(rows, fields, batch_size=batch_size)
    meta = model._meta
    concrete = {f.name: f for f in meta.concrete_fields}
    columns = [concrete[name] for name in fields]
    pk = meta.pk
    assert pk is not None  # every concrete model has one
    casts = {c.column: c.db_type(connection) for c in columns}
    assignments = ", ".join(f'"{name}" = v."{name}"::{cast}' for name, cast in casts.items())
    names = ", ".join(f'"{name}"' for name in [pk.column, *casts])
    row_sql = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    matched = 0
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            batch = rows[start:start + batch_size]
            params = [value for obj in batch for value in (
                obj.pk, *(c.get_db_prep_save(getattr(obj, c.attname), connection)
                          for c in columns))]
            cursor.execute(
                f'UPDATE "{meta.db_table}" AS t SET {assignments} '  # noqa: S608 - names from the model
                f"FROM (VALUES {', '.join([row_sql] * len(batch))}) AS v({names}) "
                f'WHERE t."{pk.column}" = v."{pk.column}"', params)
            matched += cursor.rowcount
    return matched
