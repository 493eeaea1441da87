"""Every SQLite/PostgreSQL difference the stores need, in one place, so no store branches on
the backend: bulk inserts, inserts that skip duplicates, row locks, ``IN`` over many ids,
advisory locks and typed access to JSON properties.

Bulk writes keep the statement text fixed whatever the number of rows. On PostgreSQL,
SQLAlchemy's multi-row INSERT spells one placeholder per value, so psycopg parses a new
query for every batch size; measured, that parsing was the largest single cost of ingest.
COPY (no conflicts possible) and INSERT ... SELECT FROM unnest(arrays) (when conflicts must
be skipped) send one fixed statement with the rows as data. SQLite takes ``executemany`` of
plain tuples, which its driver runs without re-parsing and which skips SQLAlchemy's per-row
parameter processing."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from psycopg.types.json import Jsonb
from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    Numeric,
    Select,
    String,
    Table,
    Text,
    Uuid,
    and_,
    any_,
    bindparam,
    cast,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY

from drawdown.db.types import Timestamp, to_micros

__all__ = [
    "DriverSql",
    "JsonPath",
    "advisory_xact_locks",
    "among",
    "as_uuid",
    "copy_rows",
    "copy_tuples",
    "for_update",
    "insert_ignoring_duplicates",
    "is_sqlite",
    "pg_value",
    "sqlite_value",
    "update_rows",
    "uuid_key",
]

S = TypeVar("S", bound=Select[Any])


def is_sqlite(conn: Connection) -> bool:
    """For SQL builders that must spell a function differently (JSON, text search)."""
    return conn.dialect.name == "sqlite"


def pg_value(column_type: Any, value: Any) -> Any:
    """A Python value as psycopg should send it for this column."""
    if value is None:
        return None
    if isinstance(column_type, Timestamp):
        return value if isinstance(value, int) else to_micros(value)
    if isinstance(column_type, JSON):
        return Jsonb(value)
    return value


def sqlite_value(column_type: Any, value: Any) -> Any:
    """A Python value as SQLAlchemy would store it in SQLite (UUIDs as 32 hex digits)."""
    if value is None:
        return None
    if isinstance(column_type, Uuid):
        return value.hex
    if isinstance(column_type, Timestamp):
        return value if isinstance(value, int) else to_micros(value)
    if isinstance(column_type, JSON):
        return json.dumps(value)
    return value


def copy_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) inside the caller's transaction."""
    if not rows:
        return
    names = list(rows[0])
    copy_tuples(conn, table, names, [tuple(row[n] for n in names) for row in rows])


def copy_tuples(
    conn: Connection, table: Table, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows``, each the values of columns ``names`` in that order (no dict per row
    for the callers that write thousands of rows a batch)."""
    if not rows:
        return
    types = [table.c[name].type for name in names]
    if is_sqlite(conn):
        placeholders = ", ".join("?" for _ in names)
        conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({placeholders})",
            [tuple(sqlite_value(t, v) for t, v in zip(types, row, strict=True)) for row in rows],
        )
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([pg_value(t, v) for t, v in zip(types, row, strict=True)])


def insert_ignoring_duplicates(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    conflict: Sequence[str],
    *,
    returning: str | None = None,
) -> set[Any]:
    """Insert ``rows`` (all with the same keys), skipping those that collide on the unique
    index over ``conflict``; the ``returning`` column of the rows actually inserted (an empty
    set when ``returning`` is None). Rows go in the order given: callers that may race sort
    them so concurrent batches wait on each other in one order, never in a cycle."""
    if not rows:
        return set()
    names = tuple(rows[0])
    if is_sqlite(conn):
        return _sqlite_insert_ignoring(conn, table, rows, names, tuple(conflict), returning)
    text = _unnest_insert(table, names, tuple(conflict), returning)
    arrays = {name: [pg_value(table.c[name].type, row[name]) for row in rows] for name in names}
    result = conn.exec_driver_sql(text, arrays)
    return set(result.scalars()) if returning is not None else set()


def _sqlite_insert_ignoring(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    names: tuple[str, ...],
    conflict: tuple[str, ...],
    returning: str | None,
) -> set[Any]:
    """An executemany of plain tuples (SQLAlchemy's multi-row form processes every value in
    Python); the rows inserted are then read back by ``returning``, which must be new for
    every row (a fresh id): those stored with one of its values are the ones inserted."""
    types = [table.c[name].type for name in names]
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
        f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING",
        [tuple(sqlite_value(t, row[n]) for t, n in zip(types, names, strict=True)) for row in rows],
    )
    if returning is None:
        return set()
    kind = table.c[returning].type
    wanted = {sqlite_value(kind, row[returning]): row[returning] for row in rows}
    found = conn.exec_driver_sql(
        f"SELECT {returning} FROM {table.name} WHERE {returning} IN "
        "(SELECT value FROM json_each(?))",
        (json.dumps(list(wanted)),),
    )
    return {wanted[value] for (value,) in found}


@lru_cache(maxsize=64)
def _unnest_insert(
    table: Table, names: tuple[str, ...], conflict: tuple[str, ...], returning: str | None
) -> str:
    """One fixed statement with a column array each, whatever the number of rows."""
    arrays = ", ".join(f"%({name})b::{_pg_array_type(table.c[name].type)}[]" for name in names)
    text = (
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
    )
    return text + (f" RETURNING {returning}" if returning is not None else "")


def _pg_array_type(column_type: Any) -> str:
    # Order matters: Timestamp is stored as BIGINT, and JSON before String.
    kinds: list[tuple[type[Any], str]] = [
        (Timestamp, "bigint"),
        (JSON, "jsonb"),
        (Uuid, "uuid"),
        (BigInteger, "bigint"),
        (Integer, "integer"),
        (Text, "text"),
        (String, "varchar"),
    ]
    for kind, name in kinds:
        if isinstance(column_type, kind):
            return name
    raise TypeError(f"no PostgreSQL array type for {column_type!r}")


def for_update(conn: Connection, query: S, *, skip_locked: bool = False) -> S:
    """Lock the selected rows until commit. On SQLite the write transaction already holds
    the database's single write lock (BEGIN IMMEDIATE), so nothing is added."""
    if is_sqlite(conn):
        return query
    return query.with_for_update(skip_locked=skip_locked)


def among(conn: Connection, column: Any, values: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    """``column IN values`` with a statement text that does not depend on how many values:
    on PostgreSQL one array parameter, so the driver never re-parses a query per batch."""
    condition: ColumnElement[bool]
    if is_sqlite(conn):
        condition = column.in_(values)
    else:
        condition = column == any_(bindparam(f"{column.name}_list", values, type_=ARRAY(Uuid)))
    return condition


def advisory_xact_locks(conn: Connection, keys: Iterable[str], *, shared: bool = False) -> None:
    """Serialize, until commit, the transactions that take the same ``keys``: on PostgreSQL
    transaction-scoped advisory locks in sorted order (so lockers never deadlock); SQLite
    already runs one writer at a time. ``shared`` lockers exclude only exclusive ones."""
    if is_sqlite(conn):
        return
    lock = func.pg_advisory_xact_lock_shared if shared else func.pg_advisory_xact_lock
    for key in sorted(set(keys)):
        conn.execute(select(lock(func.hashtextextended(literal(key), 0))))


class JsonPath:
    """Typed access to one property path of a JSON column, per backend."""

    def __init__(self, column: Any, keys: list[str], is_sqlite: bool) -> None:
        self.is_sqlite = is_sqlite
        self.column: ColumnElement[Any] = column
        if is_sqlite:
            self.path: Any = literal("$" + "".join(f'."{key}"' for key in keys), Text)
        else:
            self.path = literal(keys, ARRAY(Text))

    def type_of(self) -> ColumnElement[Any]:
        if self.is_sqlite:
            return func.json_type(self.column, self.path)
        return func.jsonb_typeof(self.column.op("#>")(self.path))

    def text(self) -> ColumnElement[Any]:
        """The value as SQL text (strings unquoted)."""
        if self.is_sqlite:
            return func.json_extract(self.column, self.path)
        return type_coerce(self.column.op("#>>")(self.path), Text)

    def raw(self) -> ColumnElement[Any]:
        """The value as JSON text (strings quoted), for grouping and distinct counts."""
        if self.is_sqlite:
            return self.column.op("->")(self.path)
        return self.column.op("#>")(self.path)

    def number(self) -> ColumnElement[Any]:
        if self.is_sqlite:
            return func.json_extract(self.column, self.path)
        return cast(self.column.op("#>>")(self.path), Numeric())

    def is_number(self) -> ColumnElement[bool]:
        kinds = ("integer", "real") if self.is_sqlite else ("number",)
        return self.type_of().in_(kinds)

    def is_string(self) -> ColumnElement[bool]:
        return self.type_of() == ("text" if self.is_sqlite else "string")

    def is_bool(self, value: bool) -> ColumnElement[bool]:
        if self.is_sqlite:
            return self.type_of() == ("true" if value else "false")
        return and_(self.type_of() == "boolean", self.text() == ("true" if value else "false"))


_PARAM = re.compile(r":([a-z_]+)(\.\.\.)?")


class DriverSql:
    """One fixed statement, written once for both backends, run at driver level: no
    SQLAlchemy expression building, compilation or per-row type processing on the hot path
    (measured: building and processing were most of an ingest batch's CPU outside the
    database). ``:name`` is a parameter; ``IN (:name...)`` matches a list of values with a
    text that does not depend on its length (PostgreSQL ``= ANY(array)``, SQLite
    ``json_each``). Parameters are UUIDs, datetimes (stored as microseconds), strings and
    integers. Rows come back as the driver gives them: on SQLite UUIDs are 32 hex digits
    (see :func:`uuid_key`) and times are integers on both."""

    def __init__(self, text: str) -> None:
        self.names = [m.group(1) for m in _PARAM.finditer(text)]
        self.lists = {m.group(1) for m in _PARAM.finditer(text) if m.group(2)}
        self.sqlite_text = _PARAM.sub(
            lambda m: "SELECT value FROM json_each(?)" if m.group(2) else "?", text
        )
        # ``x IN (:n...)`` becomes ``x = ANY(%(n)b)``: arrays go in binary, which psycopg
        # dumps without quoting every element (3x faster measured on 1000-element arrays).
        self.pg_text = _PARAM.sub(
            lambda m: f"= ANY(%({m.group(1)})b)" if m.group(2) else f"%({m.group(1)})s",
            text.replace("IN (:", ":").replace("...)", "..."),
        )

    def run(self, conn: Connection, params: dict[str, Any], *, lock: str = "") -> Any:
        """Execute with ``params``; ``lock`` (PostgreSQL only, SQLite's write transaction
        already excludes every other writer) is appended: "FOR UPDATE", "FOR UPDATE SKIP
        LOCKED"."""
        if is_sqlite(conn):
            values = tuple(
                _sqlite_list(params[n]) if n in self.lists else _sqlite_param(params[n])
                for n in self.names
            )
            return conn.exec_driver_sql(self.sqlite_text, values)
        pg = {n: _pg_list(params[n]) if n in self.lists else _pg_param(params[n]) for n in params}
        return conn.exec_driver_sql(f"{self.pg_text} {lock}" if lock else self.pg_text, pg)


def _sqlite_param(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return to_micros(value)
    return value


def _sqlite_list(values: Iterable[Any]) -> str:
    return json.dumps([_sqlite_param(value) for value in values])


def _pg_param(value: Any) -> Any:
    return to_micros(value) if isinstance(value, datetime) else value


def _pg_list(values: Iterable[Any]) -> list[Any]:
    return [_pg_param(value) for value in values]


def uuid_key(conn: Connection, value: uuid.UUID) -> Any:
    """``value`` as :class:`DriverSql` rows carry it (32 hex digits on SQLite), to look rows
    up without parsing every UUID they hold."""
    return value.hex if is_sqlite(conn) else value


def as_uuid(value: Any) -> uuid.UUID:
    """A UUID column of a :class:`DriverSql` row."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(hex=value)


@lru_cache(maxsize=64)
def _update_text(table: Table, names: tuple[str, ...], sqlite_backend: bool) -> str:
    if sqlite_backend:
        sets = ", ".join(f"{name} = ?" for name in names)
        return f"UPDATE {table.name} SET {sets} WHERE id = ?"
    sets = ", ".join(f"{name} = v.{name}" for name in names)
    arrays = ", ".join(f"%b::{_pg_array_type(table.c[name].type)}[]" for name in ("id", *names))
    return (
        f"UPDATE {table.name} AS t SET {sets} FROM unnest({arrays}) "
        f"AS v(id, {', '.join(names)}) WHERE t.id = v.id"
    )


def update_rows(
    conn: Connection, table: Table, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Set columns ``names`` of the rows keyed by id: each row is (id, *values), values as
    Python gives them. One statement of fixed text whatever the number of rows (an
    executemany on SQLite, UPDATE ... FROM unnest(arrays) on PostgreSQL)."""
    if not rows:
        return
    key = tuple(names)
    types = [table.c[name].type for name in ("id", *key)]
    if is_sqlite(conn):
        values = [
            (*(sqlite_value(t, v) for t, v in zip(types[1:], row[1:], strict=True)), row[0].hex)
            for row in rows
        ]
        conn.exec_driver_sql(_update_text(table, key, True), values)
        return
    columns = tuple([pg_value(t, row[i]) for row in rows] for i, t in enumerate(types))
    conn.exec_driver_sql(_update_text(table, key, False), columns)
