"""Bulk writes that keep the statement text fixed, whatever the number of rows.

On PostgreSQL, SQLAlchemy's multi-row INSERT spells one placeholder per value, so psycopg
parses a new query for every batch size; measured, that parsing was the largest single cost
of ingest. COPY (no conflicts possible) and INSERT ... SELECT FROM unnest(arrays) (when
conflicts must be skipped) send one fixed statement with the rows as data. SQLite takes
``executemany`` of plain tuples, which its driver runs without re-parsing and which skips
SQLAlchemy's per-row parameter processing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Connection, Table, Uuid

from drawdown.db.types import Timestamp, to_micros

__all__ = ["copy_rows", "pg_value", "sqlite_value"]


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
    if conn.dialect.name != "postgresql":
        types = [table.c[name].type for name in names]
        placeholders = ", ".join("?" for _ in names)
        conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({placeholders})",
            [
                tuple(sqlite_value(t, row[n]) for t, n in zip(types, names, strict=True))
                for row in rows
            ],
        )
        return
    types = [table.c[name].type for name in names]
    driver = conn.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([pg_value(t, row[n]) for t, n in zip(types, names, strict=True)])
