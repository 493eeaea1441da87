"""The storage floor: the same event rows inserted straight into the real ``events`` table
(same schema, indexes and pragmas as the server), one transaction per batch, no HTTP and no
rules. SQLite: ``executemany`` of a prepared INSERT; PostgreSQL: ``COPY`` with psycopg 3,
of the identifiers (the dedup key, kept apart from the monthly partitions) and the events."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import insert

from bench.data import customer_external_id
from bench.dbs import pg_dsn
from drawdown.db.engine import Database
from drawdown.db.tables import customers, events, organizations
from drawdown.db.types import to_micros
from drawdown.ids import new_id

__all__ = ["FloorDb", "prepare", "run_floor"]

COLUMNS = [column.name for column in events.columns]
Row = tuple[Any, ...]


class FloorDb:
    """An organization with ``count`` customers in a fresh database."""

    def __init__(self, url: str, count: int) -> None:
        self.url = url
        self.organization_id = new_id()
        self.customer_ids: dict[str, uuid.UUID] = {}
        database = Database(url)
        now = datetime.now().astimezone()
        with database.write() as conn:
            conn.execute(
                insert(organizations),
                [{"id": self.organization_id, "name": "floor", "created_at": now}],
            )
            rows = [self._customer(index, now) for index in range(count)]
            conn.execute(insert(customers), rows)
        database.dispose()

    def _customer(self, index: int, now: datetime) -> dict[str, Any]:
        external_id = customer_external_id(index)
        self.customer_ids[external_id] = new_id()
        return {
            "id": self.customer_ids[external_id],
            "organization_id": self.organization_id,
            "mode": "test",
            "external_id": external_id,
            "metadata_": {},
            "created_at": now,
            "updated_at": now,
        }


def prepare(floor: FloorDb, batches: Sequence[Sequence[dict[str, Any]]]) -> list[list[Row]]:
    """Database rows for API-shaped events, built before the clock starts."""
    sqlite = floor.url.startswith("sqlite")
    org = floor.organization_id.hex if sqlite else floor.organization_id
    now = to_micros(datetime.now().astimezone())
    out = []
    for batch in batches:
        rows = []
        for event in batch:
            customer = floor.customer_ids[event["external_customer_id"]]
            stamp = to_micros(datetime.fromisoformat(event["timestamp"]))
            rows.append(
                (
                    new_id().hex if sqlite else new_id(),
                    org,
                    "test",
                    event["identifier"],
                    event["name"],
                    customer.hex if sqlite else customer,
                    event["external_customer_id"],
                    stamp,
                    now,
                    json.dumps(event["properties"]),
                )
            )
        out.append(rows)
    return out


def run_floor(url: str, batches: list[list[Row]]) -> tuple[int, float]:
    """Insert every batch in its own committed transaction; (events, seconds)."""
    started = time.perf_counter()
    if url.startswith("sqlite"):
        _sqlite_floor(url.removeprefix("sqlite:///"), batches)
    else:
        _pg_floor(pg_dsn(url), batches)
    return sum(len(batch) for batch in batches), time.perf_counter() - started


def _sqlite_floor(path: str, batches: list[list[Row]]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    # The server's pragmas (drawdown.db.engine): acknowledged writes are durable.
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    sql = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    for batch in batches:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, batch)
        conn.execute("COMMIT")
    conn.close()


IDENTIFIERS_COPY = (
    "COPY event_identifiers (organization_id, mode, identifier, event_id, timestamp) FROM STDIN"
)


def copy_identifiers(cur: psycopg.Cursor[Any], batch: list[Row]) -> None:
    """PostgreSQL keeps the dedup key apart from the partitioned events (drawdown.db.partitions)."""
    with cur.copy(IDENTIFIERS_COPY) as copy:
        for row in batch:
            copy.write_row((row[1], row[2], row[3], row[0], row[7]))


def _pg_floor(dsn: str, batches: list[list[Row]]) -> None:
    sql = f"COPY events ({', '.join(COLUMNS)}) FROM STDIN"
    with psycopg.connect(dsn) as conn:
        for batch in batches:
            with conn.cursor() as cur:
                copy_identifiers(cur, batch)
                with cur.copy(sql) as copy:
                    for row in batch:
                        copy.write_row(row)
            conn.commit()
