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
import uuid
from collections.abc import Iterable, Sequence
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
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import ARRAY

from drawdown.db.types import Timestamp, to_micros

__all__ = [
    "JsonPath",
    "advisory_xact_locks",
    "among",
    "copy_rows",
    "for_update",
    "insert_ignoring_duplicates",
    "is_sqlite",
    "pg_value",
    "sqlite_value",
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
    types = [table.c[name].type for name in names]
    if is_sqlite(conn):
        placeholders = ", ".join("?" for _ in names)
        conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({placeholders})",
            [
                tuple(sqlite_value(t, row[n]) for t, n in zip(types, names, strict=True))
                for row in rows
            ],
        )
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([pg_value(t, row[n]) for t, n in zip(types, names, strict=True)])


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
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict))
        if returning is None:
            conn.execute(stmt, list(rows))
            return set()
        return set(conn.execute(stmt.returning(table.c[returning]), list(rows)).scalars())
    text = _unnest_insert(table, names, tuple(conflict), returning)
    arrays = {name: [pg_value(table.c[name].type, row[name]) for row in rows] for name in names}
    result = conn.exec_driver_sql(text, arrays)
    return set(result.scalars()) if returning is not None else set()


@lru_cache(maxsize=64)
def _unnest_insert(
    table: Table, names: tuple[str, ...], conflict: tuple[str, ...], returning: str | None
) -> str:
    """One fixed statement with a column array each, whatever the number of rows."""
    arrays = ", ".join(f"%({name})s::{_pg_array_type(table.c[name].type)}[]" for name in names)
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
