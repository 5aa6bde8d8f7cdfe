"""Bulk writes with COPY, for the pipeline's hot inserts (events and deliveries at ingest, customer messages when
the worker plans them).

Why not bulk_create: the bridge's profile (docs/profiles/) spent most of its time in Django compiling the INSERT and
in psycopg escaping array parameters in Python; COPY rows are formatted by psycopg's C code."""

import operator

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

# Fields whose values psycopg adapts as they are (Django's get_db_prep_save returns them unchanged on PostgreSQL).
_PLAIN_FIELDS = (
    models.AutoField, models.BigAutoField, models.CharField, models.TextField, models.IntegerField,
    models.BigIntegerField, models.SmallIntegerField, models.PositiveIntegerField, models.PositiveSmallIntegerField,
    models.BooleanField, models.DateTimeField, models.UUIDField, models.ForeignKey,
)

def _copy_converter(model_field, db):
    """None when the value goes to COPY as it is, else a function of the value (Django's own preparation)."""
    if isinstance(model_field, models.JSONField):
        return lambda value, encoder=model_field.encoder: db.ops.adapt_json_value(value, encoder)
    if type(model_field) in _PLAIN_FIELDS:
        return None
    return lambda value, f=model_field: f.get_db_prep_save(value, db)


def next_ids(table: str, count: int) -> list[int]:
    """`count` primary keys from the table's sequence, in one statement (COPY cannot return them)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return [pk for (pk,) in cursor.fetchall()]


def copy_rows(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY rows (tuples in `columns` order) into `table`, inside the current transaction.

    Why not bulk_create: the profile of the bridge (docs/profiles/) spent most of its time in Django compiling the
    INSERT and in psycopg escaping the array parameters in Python; COPY rows are formatted by psycopg's C code."""
    if not rows:
        return
    quote = connection.ops.quote_name
    statement = f"COPY {quote(table)} ({', '.join(map(quote, columns))}) FROM STDIN"
    # A raw psycopg call: wrap_database_errors maps its errors to Django's (IntegrityError drives the
    # concurrent-ingest retry).
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def copy_insert(objs: list) -> None:
    """Insert unsaved model instances of one model with COPY and give them their primary keys, as bulk_create
    does (for the customer messages, whose rows routing builds as instances)."""
    if not objs:
        return
    meta = objs[0]._meta
    fields = meta.concrete_fields
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the `connection` proxy costs a lookup per attribute
    attnames = [f.attname for f in fields]
    converters = [_copy_converter(f, db) for f in fields]
    for model_field in fields:
        if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            for obj in objs:
                model_field.pre_save(obj, True)  # sets the attribute, as bulk_create does
    for obj, pk in zip(objs, next_ids(meta.db_table, len(objs)), strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, connection.alias
    if len(attnames) > 1 and not any(converters):
        # Every value goes as it is: one C-level lookup of all the attributes per row.
        values_of = operator.itemgetter(*attnames)
        rows = [values_of(obj.__dict__) for obj in objs]
    else:
        rows = [tuple(value if convert is None else convert(value)
                      for value, convert in zip([obj.__dict__[a] for a in attnames], converters, strict=True))
                for obj in objs]
    copy_rows(meta.db_table, tuple(f.column for f in fields), rows)
