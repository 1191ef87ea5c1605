"""Fixed-shape statements for the ingest's hot path, their SQL made once per process (issue 18).

The ORM builds, resolves and compiles a query on every call: 150-250 us of Python per statement
(measured on SELECTs); a frame's transaction (nine statements with BEGIN and COMMIT) took 2.83 ms of
CPU with the ORM, 1.30 ms with these statements and 0.98 ms with Delete as well. The ingest's
statements never change shape, so here each one's SQL is made once (per database) and only values
travel, handled as the ORM handles them:

- going in, each field adapts its value for the database (``get_db_prep_save``: datetimes, JSON);
- coming out, the backend's and the field's converters run (``get_db_converters``: SQLite's
  datetime text, JSON), and rows become model instances through ``Model.from_db``;
- names are quoted by the connection, ``FOR UPDATE`` is added only where the database has it
  (SQLite serialises writers with its IMMEDIATE transactions instead), ``RETURNING`` and
  ``ON CONFLICT`` come from the backend's own operations;
- cursors are Django's, so query logging, execute wrappers and ``CaptureQueriesContext`` still see
  every statement.

Select, Update and Insert send no model signals and apply no ``auto_now``: use them where nothing
listens to saves of the model and the caller sets every value. Delete does what Django's Collector
does for rows nothing cascades from, signals included.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections, router, transaction
from django.db.models import DO_NOTHING, SET_NULL, Field, Model
from django.db.models.constants import OnConflict
from django.db.models.deletion import Collector
from django.db.models.signals import post_delete, pre_delete


class _Columns:
    """A model's fields by name, with their quoted columns, for one database connection."""

    def __init__(self, model: type[Model], alias: str) -> None:
        self.model = model
        self.connection = connections[alias]
        meta = model._meta
        self.table = self.connection.ops.quote_name(meta.db_table)
        self.pk = meta.pk

    def field(self, name: str) -> Field:
        return self.model._meta.get_field(name)

    def quoted(self, field: Field) -> str:
        return self.connection.ops.quote_name(field.column)

    def placeholders(self, where: str) -> str:
        """``{name}`` in ``where`` -> that field's quoted column (``{pk}`` is the primary key's)."""
        names = {field.name: self.quoted(field) for field in self.model._meta.concrete_fields}
        names["pk"] = self.quoted(self.pk)
        return where.format(**names)


class Select:
    """``SELECT <fields> FROM <model's table> WHERE <where>``, run with new parameters each time.

    ``where`` names columns as ``{field_name}`` (``{pk}`` for the primary key) and values as ``%s``;
    it may go on with ORDER BY and LIMIT. ``for_update`` locks the rows where the database can.
    """

    def __init__(self, model: type[Model], fields: Sequence[str], where: str, *, for_update: bool = False) -> None:
        self.model, self.fields, self.where, self.for_update = model, list(fields), where, for_update

    @functools.cached_property
    def _alias(self) -> str:
        return router.db_for_write(self.model) if self.for_update else router.db_for_read(self.model)

    @functools.cached_property
    def _prepared(self) -> tuple[str, list[Field], list[tuple[Any, list]]]:
        columns = _Columns(self.model, self._alias)
        connection = columns.connection
        fields = [columns.field(name) for name in self.fields]
        sql = (f"SELECT {', '.join(columns.quoted(field) for field in fields)} FROM {columns.table} "
               f"WHERE {columns.placeholders(self.where)}")
        if self.for_update and connection.features.has_select_for_update:
            sql += " " + connection.ops.for_update_sql()
        converters = []
        for field in fields:
            col = field.get_col(self.model._meta.db_table)
            converters.append((col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
        return sql, fields, converters

    def rows(self, *params: Any) -> list[tuple]:
        """The matching rows as tuples of Python values (what ``values_list`` would give)."""
        sql, _, converters = self._prepared
        connection = connections[self._alias]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not any(field_converters for _, field_converters in converters):
            return rows
        converted = []
        for row in rows:
            values = list(row)
            for index, (col, field_converters) in enumerate(converters):
                for convert in field_converters:
                    values[index] = convert(values[index], col, connection)
            converted.append(tuple(values))
        return converted

    def instances(self, *params: Any) -> list[Model]:
        """The matching rows as model instances (fields not selected are deferred)."""
        _, fields, _ = self._prepared
        attnames = [field.attname for field in fields]
        return [self.model.from_db(self._alias, attnames, row) for row in self.rows(*params)]


class Update:
    """``UPDATE <model's table> SET <fields> WHERE pk = %s`` for one row."""

    def __init__(self, model: type[Model], fields: Sequence[str]) -> None:
        self.model, self.fields = model, list(fields)

    @functools.cached_property
    def _prepared(self) -> tuple[str, str, list[Field]]:
        alias = router.db_for_write(self.model)
        columns = _Columns(self.model, alias)
        fields = [columns.field(name) for name in self.fields]
        assignments = ", ".join(f"{columns.quoted(field)} = %s" for field in fields)
        return alias, f"UPDATE {columns.table} SET {assignments} WHERE {columns.quoted(columns.pk)} = %s", fields

    def run(self, pk: Any, values: dict[str, Any]) -> int:
        """Write ``values`` (exactly this statement's fields, by name); returns the rows changed (0 or 1)."""
        alias, sql, fields = self._prepared
        connection = connections[alias]
        params = [field.get_db_prep_save(values[field.name], connection) for field in fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, pk])
            return cursor.rowcount


class Insert:
    """``INSERT INTO <model's table> (<fields>) VALUES (...)`` of a new model instance.

    Each value is what the ORM's own insert would send: ``field.pre_save(obj, add=True)``, adapted
    by ``get_db_prep_save``. With ``conflict`` (the names of a unique set of fields), a row that
    already exists is updated instead (``ON CONFLICT (...) DO UPDATE SET`` every other field).
    """

    def __init__(self, model: type[Model], fields: Sequence[str], *, conflict: Sequence[str] = ()) -> None:
        self.model, self.fields, self.conflict = model, list(fields), list(conflict)

    @functools.cached_property
    def _prepared(self) -> tuple[str, str, list[Field], bool]:
        alias = router.db_for_write(self.model)
        columns = _Columns(self.model, alias)
        connection = columns.connection
        fields = [columns.field(name) for name in self.fields]
        sql = (f"INSERT INTO {columns.table} ({', '.join(columns.quoted(field) for field in fields)}) "
               f"VALUES ({', '.join(['%s'] * len(fields))})")
        returning = False
        if self.conflict:
            unique = [columns.field(name) for name in self.conflict]
            updated = [field.column for field in fields if field not in unique]
            sql += " " + connection.ops.on_conflict_suffix_sql(
                fields, OnConflict.UPDATE, updated, [field.column for field in unique])
        elif connection.features.can_return_columns_from_insert:
            returned, _ = connection.ops.return_insert_columns([columns.pk])
            sql, returning = f"{sql} {returned}", True
        return alias, sql, fields, returning

    def run(self, obj: Model) -> Model:
        """Write ``obj`` (a new instance of the model); returns it saved, its pk set unless upserted."""
        alias, sql, fields, returning = self._prepared
        connection = connections[alias]
        params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if not self.conflict:
                meta = self.model._meta
                pk = cursor.fetchone()[0] if returning else \
                    connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
                setattr(obj, meta.pk.attname, pk)
        obj._state.adding, obj._state.db = False, alias
        return obj


class Delete:
    """Delete model instances as Django's Collector would, when nothing cascades from them.

    Every relation to the model must be SET_NULL or DO_NOTHING and the model must have no parent
    model, generic relation or many-to-many field (checked once; otherwise each call hands the rows to the Collector). Then the
    Collector's work comes down to: pre_delete for each row, the referencing rows' foreign keys set to
    NULL, one DELETE, post_delete for each row, in one atomic block, and these statements are made
    once per number of rows. Measured on a frame's transaction: 1.30 ms of CPU with the Collector,
    0.98 ms with this.
    """

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self._made: dict[tuple[str, int], list[str]] = {}  # (database, rows) -> statements

    @functools.cached_property
    def _nulled(self) -> list | None:
        """The relations whose foreign keys a deletion sets to NULL, or None: use the Collector."""
        meta = self.model._meta
        if meta.parents or meta.private_fields or meta.many_to_many \
                or any(rel.many_to_many for rel in meta.related_objects):
            return None  # parent rows, generic relations, many-to-many tables: the Collector's job
        nulled = []
        for rel in meta.related_objects:
            if rel.on_delete is SET_NULL:
                nulled.append(rel)
            elif rel.on_delete is not DO_NOTHING:
                return None
        return nulled

    def _statements(self, alias: str, count: int) -> list[str]:
        made = self._made.get((alias, count))
        if made is not None:
            return made
        connection = connections[alias]
        quote = connection.ops.quote_name
        marks = ", ".join(["%s"] * count)
        statements = [f"UPDATE {quote(rel.related_model._meta.db_table)} SET {quote(rel.field.column)} = NULL "
                      f"WHERE {quote(rel.field.column)} IN ({marks})" for rel in self._nulled]
        meta = self.model._meta
        statements.append(f"DELETE FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} IN ({marks})")
        if len(self._made) < 64:  # a trim deletes one row a frame; a rare batch need not be kept
            self._made[(alias, count)] = statements
        return statements

    def run(self, instances: Sequence[Model]) -> None:
        if not instances:
            return
        alias = router.db_for_write(self.model)
        if self._nulled is None:
            collector = Collector(using=alias)
            collector.collect(list(instances))
            collector.delete()
            return
        pks = [instance.pk for instance in instances]
        with transaction.atomic(using=alias, savepoint=False):
            for instance in instances:
                pre_delete.send(sender=self.model, instance=instance, using=alias, origin=instances)
            with connections[alias].cursor() as cursor:
                for sql in self._statements(alias, len(pks)):
                    cursor.execute(sql, pks)
            for instance in instances:
                post_delete.send(sender=self.model, instance=instance, using=alias, origin=instances)
        for instance in instances:
            setattr(instance, self.model._meta.pk.attname, None)  # as the Collector leaves them


def field_names(model: type[Model], *, exclude: Iterable[str] = ()) -> list[str]:
    """The names of ``model``'s concrete fields, in declaration order, less ``exclude``."""
    skip = set(exclude)
    return [field.name for field in model._meta.concrete_fields if field.name not in skip]
