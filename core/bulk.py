"""A multi-row INSERT built from field metadata, for the services that create thousands of rows.

Django's ``bulk_create`` compiles every value of every row through the generic insert
compiler (expression checks, placeholders, one ``pre_save`` and ``get_db_prep_save`` per
cell): about a second for 10,000 extensions. Most columns of such a batch hold the same value
in every row (the profile of a pool range), so here those are prepared once and only the
values that differ per row (a number, a generated secret) are prepared row by row.
"""

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models import NOT_PROVIDED

from core.fields import EncryptedTextField

M = TypeVar("M", bound=models.Model)

# Characters per INSERT statement. MariaDB refuses statements over max_allowed_packet (16 MiB
# by default since 10.2.4, 64 MiB on MySQL 8); counting characters leaves room for multi-byte
# text and escaping. A pool range of 10,000 extensions is about 2 MiB: one statement.
MAX_STATEMENT_CHARS = 8 * 1024 * 1024


def bulk_insert(
    model: type[M],
    *,
    shared: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    using: str = DEFAULT_DB_ALIAS,
    saved: Sequence[M] | None = None,
    answer: bool = True,
) -> list[M]:
    """INSERT one row per item of ``rows`` and answer the saved instances, in that order.

    Saves what ``model.objects.bulk_create([model(**shared, **row) for row in rows])`` saves:
    ``shared`` holds the values common to every row, each row the values of its own (field
    names or attnames; a related field may take a saved instance). A field given in neither
    takes its default — a callable default is called for each row — and ``auto_now`` /
    ``auto_now_add`` fields the time of the call (one timestamp for the whole batch). Each
    value goes through the field's ``get_db_prep_save`` (encrypted fields encrypt), common ones
    once. No signals, no ``full_clean``: the caller validates, as with ``bulk_create``.
    The instances carry their primary key (INSERT … RETURNING where the database has it).

    ``saved``: the unsaved instances ``rows`` were read from (one per row, holding every value
    of its row and of ``shared``); they are answered instead of new ones, marked saved with
    their primary key and the batch's timestamps, as ``bulk_create`` leaves its objects.
    ``answer=False``: no instances are built (an empty list is answered), for callers that
    only write.
    """
    if not rows:
        return []
    opts = model._meta
    connection = connections[using]
    by_key: dict[str, models.Field] = {}
    for field in opts.concrete_fields:
        if field.generated or field.db_default is not NOT_PROVIDED:
            raise NotImplementedError(
                f"bulk_insert does not handle {field} (generated, db_default)"
            )
        by_key[field.name] = by_key[field.attname] = field
    row_keys = list(rows[0])
    unknown = (set(shared) | set(row_keys)) - set(by_key)
    if unknown:
        raise TypeError(f"{model.__name__} has no concrete field(s): {sorted(unknown)}")
    if any(row.keys() != rows[0].keys() for row in rows):
        raise ValueError("Every row must give the same fields.")
    for key, value in shared.items():
        if isinstance(value, models.Model) and value.pk is None:
            raise ValueError(f"bulk_insert: the related {key} is not saved.")

    # Columns whose value differs per row: those the rows give, then those with a callable
    # default (a generated secret), called once per row like Model() would.
    given = {by_key[key].attname for key in shared}
    row_fields = [by_key[key] for key in row_keys]
    varying = {field.attname for field in row_fields}
    defaults = [
        field
        for field in opts.concrete_fields
        if field.attname not in varying | given and field.has_default() and callable(field.default)
    ]
    row_fields += defaults
    varying |= {field.attname for field in defaults}
    pk = opts.pk
    # A primary key given nowhere is left to the database (auto-increment).
    columns = [
        field for field in opts.concrete_fields if field is not pk or pk.attname in varying | given
    ]

    # A prototype instance carries the common values: pre_save() on it answers what a save
    # would store (auto_now timestamps included), once for the whole batch.
    prototype = model(**shared)
    shared_python: dict[str, Any] = {}
    shared_db: dict[str, Any] = {}
    for field in columns:
        if field.attname not in varying:
            value = field.pre_save(prototype, add=True)
            shared_python[field.attname] = value
            shared_db[field.attname] = field.get_db_prep_save(value, connection=connection)

    # Python values per row (for the instances), related instances standing for their key.
    row_python = []
    for row in rows:
        values = [row[key] for key in row_keys] + [field.get_default() for field in defaults]
        row_python.append(
            [value.pk if isinstance(value, models.Model) else value for value in values]
        )

    # Database values of the varying columns, row by row; the common ones were prepared once.
    shared_chars = sum(len(str(value)) + 4 for value in shared_db.values())
    prepared: list[list[Any]] = []
    sizes: list[int] = []
    for values in row_python:
        params = [
            field.get_db_prep_save(value, connection=connection)
            for field, value in zip(row_fields, values, strict=True)
        ]
        prepared.append(params)
        sizes.append(shared_chars + sum(len(str(value)) + 4 for value in params))

    shared_columns = [field for field in columns if field.attname not in varying]
    shared_values = [shared_db[field.attname] for field in shared_columns]
    pks = _insert(
        model, row_fields, shared_columns, shared_values, prepared, sizes, connection, using
    )

    if not answer:
        return []
    if saved is not None:
        auto = [
            field.attname
            for field in columns
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        ]
        for index, instance in enumerate(saved):
            if pks:
                setattr(instance, pk.attname, pks[index])
            for attname in auto:
                setattr(instance, attname, shared_python[attname])
            instance._state.adding = False
            instance._state.db = using
        return list(saved)

    # Instances as if loaded from the database, built positionally (the fast path of
    # Model.__init__) from the Python values.
    attnames = [field.attname for field in opts.concrete_fields]
    row_attnames = [field.attname for field in row_fields]
    instances = []
    for index, values in enumerate(row_python):
        value_of = shared_python | dict(zip(row_attnames, values, strict=True))
        if pks:
            value_of[pk.attname] = pks[index]
        instances.append(
            model.from_db(using, attnames, [value_of.get(attname) for attname in attnames])
        )
    # Related instances given in ``shared`` stay cached, as they would on model(**shared).
    for key, value in shared.items():
        field = by_key[key]
        if field.is_relation and isinstance(value, models.Model):
            for instance in instances:
                field.set_cached_value(instance, value)
    return instances


def _insert(
    model: type[models.Model],
    row_columns: list[models.Field],
    shared_columns: list[models.Field],
    shared_values: list[Any],
    prepared: list[list[Any]],
    sizes: list[int],
    connection,
    using: str,
) -> list[Any]:
    """Run the INSERTs in chunks the database accepts; answer the new primary keys if known.

    The columns of each row are its own values then the common ones. On MySQL/MariaDB the
    common values are escaped once by the driver and written into the statement: as
    parameters the driver would escape each of them again for every row.
    """
    opts = model._meta
    ops = connection.ops
    qn = ops.quote_name
    columns = row_columns + shared_columns
    head = f"INSERT INTO {qn(opts.db_table)} ({', '.join(qn(field.column) for field in columns)}) "
    returning = connection.features.can_return_rows_from_bulk_insert
    returning_sql = ops.return_insert_columns([opts.pk])[0] if returning else ""
    per_batch = max(ops.bulk_batch_size(columns, prepared), 1)
    pks: list[Any] = []
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        inlined = _mogrify(connection, cursor, shared_values)
        if inlined is None:
            row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
            prepared = [params + shared_values for params in prepared]
        else:
            row_sql = "(" + ", ".join(["%s"] * len(row_columns) + [inlined]) + ")"
        start = 0
        while start < len(prepared):
            end, chars = start, len(head)
            while end < len(prepared) and end - start < per_batch:
                if end > start and chars + sizes[end] > MAX_STATEMENT_CHARS:
                    break
                chars += sizes[end]
                end += 1
            sql = head + "VALUES " + ", ".join([row_sql] * (end - start))
            if returning_sql:
                sql += " " + returning_sql
            cursor.execute(sql, [value for params in prepared[start:end] for value in params])
            if returning:
                pks.extend(row[0] for row in ops.fetch_returned_insert_rows(cursor))
            start = end
    return pks


def _mogrify(connection, cursor, values: list[Any]) -> str | None:
    """``values`` as SQL text escaped by the MySQL driver itself (its public ``mogrify``, what
    ``execute`` does to parameters), ready to be written into a statement that still goes
    through "%" formatting; None on other databases or without common values."""
    if connection.vendor != "mysql" or not values or not hasattr(cursor, "mogrify"):
        return None
    text = cursor.mogrify(", ".join(["%s"] * len(values)), values)
    if isinstance(text, bytes):
        text = text.decode(connection.connection.encoding)
    return text.replace("%", "%%")


def bulk_insert_instances(instances: Sequence[M], *, using: str = DEFAULT_DB_ALIAS) -> list[M]:
    """INSERT unsaved, validated instances of one model (what ``bulk_create(instances)``
    saves: every concrete field but the primary key, ``auto_now`` fields set now) through
    :func:`bulk_insert`; answers them, saved, with their primary keys, in the same order."""
    if not instances:
        return []
    model = type(instances[0])
    attnames = [
        field.attname
        for field in model._meta.concrete_fields
        if not field.primary_key
        and not getattr(field, "auto_now", False)
        and not getattr(field, "auto_now_add", False)
    ]
    # A column with one value in every row (a batch's node, kind, site…) is prepared once.
    # Not a secret: its ciphertext must differ per row even for the same clear text.
    values = {name: [getattr(instance, name) for instance in instances] for name in attnames}
    shared = {}
    for name, column in values.items():
        first = column[0]
        if (
            (first is None or isinstance(first, str | int | bool))
            and not isinstance(model._meta.get_field(name), EncryptedTextField)
            and all(type(value) is type(first) and value == first for value in column)
        ):
            shared[name] = first
    varying = [name for name in attnames if name not in shared]
    columns = [values[name] for name in varying]
    rows = [
        {name: column[index] for name, column in zip(varying, columns, strict=True)}
        for index in range(len(instances))
    ]
    return bulk_insert(model, shared=shared, rows=rows, using=using, saved=instances)


# Rows per UPDATE of bulk_update_fields: its CASE is read row by row by the database, so a
# batch costs its size squared; 500 rows keep a statement cheap and 10,000 rows 20 statements.
UPDATE_BATCH = 500


def bulk_update_fields(
    instances: Sequence[models.Model], fields: Sequence[str], *, using: str = DEFAULT_DB_ALIAS
) -> None:
    """UPDATE ``fields`` of saved instances of one model to their values on the instances:
    what ``Model.objects.bulk_update(instances, fields)`` saves, without its expression
    machinery (seconds of Python for 10,000 rows). A field with one value in every row of a
    batch is set once (``SET f = %s``), the others by a ``CASE`` on the primary key. Each value
    goes through the field's ``get_db_prep_save``; no signals, no ``auto_now`` (set it on the
    instances and name it in ``fields``), as with ``bulk_update``."""
    if not instances:
        return
    model = type(instances[0])
    opts = model._meta
    connection = connections[using]
    if connection.features.requires_casted_case_in_updates:
        model._base_manager.using(using).bulk_update(instances, fields, batch_size=UPDATE_BATCH)
        return
    targets = [opts.get_field(name) for name in fields]
    if any(not field.concrete or field.primary_key for field in targets):
        raise ValueError("bulk_update_fields updates concrete fields other than the key.")
    qn = connection.ops.quote_name
    pk = opts.pk
    per_batch = UPDATE_BATCH
    if connection.features.max_query_params:
        per_batch = max(
            1, min(per_batch, connection.features.max_query_params // (2 * len(targets) + 1))
        )
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        for start in range(0, len(instances), per_batch):
            batch = instances[start : start + per_batch]
            keys = [pk.get_db_prep_save(obj.pk, connection=connection) for obj in batch]
            sets: list[str] = []
            params: list[Any] = []
            for field in targets:
                values = [
                    field.get_db_prep_save(getattr(obj, field.attname), connection=connection)
                    for obj in batch
                ]
                if not isinstance(field, EncryptedTextField) and all(
                    type(value) is type(values[0]) and value == values[0] for value in values
                ):
                    sets.append(f"{qn(field.column)} = %s")
                    params.append(values[0])
                    continue
                whens = []
                for key, value in zip(keys, values, strict=True):
                    whens.append("WHEN %s THEN %s")
                    params += [key, value]
                sets.append(f"{qn(field.column)} = CASE {qn(pk.column)} {' '.join(whens)} END")
            where = f"{qn(pk.column)} IN ({', '.join(['%s'] * len(keys))})"
            # Names quoted by the backend, every value a parameter.
            sql = f"UPDATE {qn(opts.db_table)} SET {', '.join(sets)} WHERE {where}"  # noqa: S608
            cursor.execute(sql, [*params, *keys])
