"""All SQL of events. The ingest statements are bulk: one customer lookup, one insert."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, or_, select, update
from sqlalchemy.dialects import sqlite

from drawdown.db.bulk import pg_value
from drawdown.db.tables import customers, events
from drawdown.tenancy import Tenant

__all__ = [
    "c",
    "claim_events",
    "count_ingested_since",
    "get_by_id",
    "insert_events",
    "list_query",
    "resolve_customers",
]

c = events.c


def scoped(tenant: Tenant) -> list[Any]:
    return [c.organization_id == tenant.organization_id, c.mode == tenant.mode]


def resolve_customers(
    conn: Connection, tenant: Tenant, ids: Collection[uuid.UUID], external_ids: Collection[str]
) -> list[Any]:
    """Live customers named by id or by external id, in one query."""
    if not ids and not external_ids:
        return []
    k = customers.c
    named = []
    if ids:
        named.append(k.id.in_(list(ids)))
    if external_ids:
        named.append(k.external_id.in_(list(external_ids)))
    query = select(k.id, k.external_id).where(
        k.organization_id == tenant.organization_id,
        k.mode == tenant.mode,
        k.deleted_at.is_(None),
        or_(*named),
    )
    return list(conn.execute(query))


def insert_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert ``rows``, skipping identifiers already stored; the ids actually inserted.
    SQLite: a multi-row INSERT; PostgreSQL: one INSERT ... SELECT FROM unnest(arrays).

    Rows go in identifier order: two concurrent batches that share identifiers then wait on
    each other's unique-index entries in the same order and cannot deadlock (rule 13)."""
    if not rows:
        return set()
    ordered = sorted(rows, key=lambda row: str(row["identifier"]))
    if conn.dialect.name == "postgresql":
        return _insert_events_pg(conn, ordered)
    stmt = (
        sqlite.insert(events)
        .on_conflict_do_nothing(index_elements=["organization_id", "mode", "identifier"])
        .returning(c.id)
    )
    return {row.id for row in conn.execute(stmt, ordered)}


_PG_ARRAY_TYPES = {
    "id": "uuid",
    "organization_id": "uuid",
    "mode": "varchar",
    "identifier": "varchar",
    "name": "varchar",
    "customer_id": "uuid",
    "external_customer_id": "varchar",
    "timestamp": "bigint",
    "ingested_at": "bigint",
    "properties": "jsonb",
}
_PG_INSERT = (
    f"INSERT INTO events ({', '.join(_PG_ARRAY_TYPES)}) "
    "SELECT * FROM unnest("
    + ", ".join(f"%({name})s::{kind}[]" for name, kind in _PG_ARRAY_TYPES.items())
    + ") ON CONFLICT (organization_id, mode, identifier) DO NOTHING RETURNING id"
)


def _insert_events_pg(conn: Connection, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """One fixed statement with a column array each (see drawdown.db.bulk for why)."""
    arrays = {
        name: [pg_value(events.c[name].type, row[name]) for row in rows] for name in _PG_ARRAY_TYPES
    }
    return set(conn.exec_driver_sql(_PG_INSERT, arrays).scalars())


def claim_events(
    conn: Connection, tenant: Tenant, customer_id: uuid.UUID, external_id: str
) -> list[Any]:
    """Give the unclaimed events of ``external_id`` to the customer; the events claimed."""
    stmt = (
        update(events)
        .where(*scoped(tenant), c.external_customer_id == external_id, c.customer_id.is_(None))
        .values(customer_id=customer_id)
        .returning(c.id, c.name, c.timestamp, c.properties)
    )
    return list(conn.execute(stmt))


def get_by_id(conn: Connection, tenant: Tenant, event_id: uuid.UUID) -> Any:
    return conn.execute(select(events).where(c.id == event_id, *scoped(tenant))).one_or_none()


def list_query(
    tenant: Tenant,
    *,
    customer_id: uuid.UUID | None,
    external_customer_id: str | None,
    name: str | None,
    time_from: datetime | None,
    time_to: datetime | None,
    extra: Sequence[Any] = (),
) -> Select[Any]:
    query = select(events).where(*scoped(tenant), *extra)
    if customer_id is not None:
        query = query.where(c.customer_id == customer_id)
    if external_customer_id is not None:
        k = customers.c
        owner = select(k.id).where(
            k.organization_id == tenant.organization_id,
            k.mode == tenant.mode,
            k.external_id == external_customer_id,
        )
        query = query.where(
            or_(c.external_customer_id == external_customer_id, c.customer_id.in_(owner))
        )
    if name is not None:
        query = query.where(c.name == name)
    if time_from is not None:
        query = query.where(c.timestamp >= time_from)
    if time_to is not None:
        query = query.where(c.timestamp < time_to)
    return query


def count_ingested_since(conn: Connection, tenant: Tenant, since: datetime) -> int:
    query = select(func.count()).select_from(events).where(*scoped(tenant), c.ingested_at >= since)
    return int(conn.execute(query).scalar_one())
