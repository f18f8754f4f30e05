"""Snapshots of the two stores a test harness seeds, taken once and restored per test.

Seeding the demo organization (``run_demo``) costs seconds; restoring what it made costs
a fraction of one. Each snapshot restores *exactly* the state it took, so a test that
changes something (a key deactivated in moto, an exception approved, a key created) cannot
leak into the next test:

- :class:`DatabaseSnapshot`: every model table's rows (``COPY ... TO STDOUT``, binary, in
  memory) and every sequence's position; restored by emptying every table, a ``COPY ...
  FROM STDIN`` per non-empty one and ``setval`` for each sequence, so rows created during
  a test get the ids they would have got right after seeding.
- :class:`AwsSnapshot`: moto's whole in-process state (every service, account and region,
  including what was backdated through its backend objects), deep-copied. moto has no
  state save/restore of its own (``/moto-api/reset`` only wipes), and re-seeding would mint
  new random account and key ids that no longer match the database.

Test harness only: the database side needs a superuser connection (the audit log's
triggers are set aside with ``session_replication_role``, as pytest-django's flush is).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from tests.conftest import audit_triggers_off, empty_tables


@dataclass(frozen=True)
class DatabaseSnapshot:
    """The rows of the tables ``manage.py flush`` empties, and every sequence's position."""

    alias: str
    tables: tuple[str, ...]
    rows: dict[str, bytes]  # table -> binary COPY data, only for non-empty tables
    sequences: tuple[tuple[str, int, bool], ...]  # (regclass name, last_value, is_called)

    @classmethod
    def take(cls, connection) -> DatabaseSnapshot:
        quote = connection.ops.quote_name
        tables = tuple(sorted(connection.introspection.django_table_names(
            only_existing=True, include_views=False)))
        rows: dict[str, bytes] = {}
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            for table in tables:
                with cursor.copy(f"COPY {quote(table)} TO STDOUT (FORMAT BINARY)") as out:
                    data = b"".join(bytes(chunk) for chunk in out)
                if cursor.rowcount:
                    rows[table] = data
            # A sequence never used has no last_value yet: it restarts at its start value.
            cursor.execute(
                "SELECT format('%I.%I', schemaname, sequencename), "
                "COALESCE(last_value, start_value), last_value IS NOT NULL "
                "FROM pg_sequences WHERE schemaname = current_schema()")
            sequences = tuple((name, value, called) for name, value, called in cursor.fetchall())
        return cls(connection.alias, tables, rows, sequences)

    def restore(self, connection) -> None:
        """Make the database hold exactly the snapshot's rows and sequence positions."""
        quote = connection.ops.quote_name
        with transaction.atomic(using=self.alias), audit_triggers_off(connection), \
                connection.cursor() as cursor:
            # Foreign keys and the audit log's triggers sleep under the replica role.
            empty_tables(connection, self.tables)
            for table, data in self.rows.items():
                with cursor.copy(f"COPY {quote(table)} FROM STDIN (FORMAT BINARY)") as into:
                    into.write(data)
            cursor.execute(
                "SELECT setval(name::regclass, value, called) "
                "FROM unnest(%s::text[], %s::bigint[], %s::bool[]) AS s(name, value, called)",
                [[s[0] for s in self.sequences], [s[1] for s in self.sequences],
                 [s[2] for s in self.sequences]])
        # Ids are the snapshot's again: drop what this process remembered of other rows.
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()
        cache.clear()


class AwsSnapshot:
    """moto's in-process state, every backend of every service, account and region."""

    def __init__(self) -> None:
        from moto.core.base_backend import BackendDict, backend_lock
        from moto.core.model_instances import model_data

        with backend_lock:
            self._backend_dicts = list(BackendDict._instances)
            self._models = [model for models in model_data.values() for model in models.values()]
            live = ([dict(backends) for backends in self._backend_dicts],
                    [list(model.instances_tracked) for model in self._models])
            self._state = copy.deepcopy(live, self._memo())

    def _memo(self) -> dict:
        """The service registries stay themselves in a copy: a backend holding one refers
        to the live registry, never to a duplicate of it."""
        return {id(backends): backends for backends in self._backend_dicts}

    def restore(self) -> None:
        """Replace moto's state by a fresh copy of the snapshot (the snapshot stays intact)."""
        from moto.core.base_backend import BackendDict, backend_lock
        from moto.core.model_instances import reset_model_data

        with backend_lock:
            backends, tracked = copy.deepcopy(self._state, self._memo())
            for registry in BackendDict._instances:
                registry.clear()
            BackendDict._instances[:] = [registry for registry, saved
                                         in zip(self._backend_dicts, backends, strict=True)
                                         if saved]
            for registry, saved in zip(self._backend_dicts, backends, strict=True):
                dict.update(registry, saved)
            reset_model_data()
            for model, instances in zip(self._models, tracked, strict=True):
                model.instances_tracked = instances
