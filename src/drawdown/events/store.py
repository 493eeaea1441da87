"""All SQL of events. The ingest statements are bulk: one customer lookup, one insert."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, or_

from drawdown.db.portable import insert_ignoring_duplicates
from drawdown.db.scope import owned, select_owned, update_owned
from drawdown.db.tables import customers, events
from drawdown.tenancy import Tenant

__all__ = [
    "c",
    "claim_events",
    "get_by_id",
    "insert_events",
    "list_query",
    "resolve_customers",
]

c = events.c


def scoped(tenant: Tenant) -> ColumnElement[bool]:
    """The tenant's condition on events, for the usage queries built over this table."""
    return owned(events, tenant)


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
    query = select_owned(tenant, customers, k.id, k.external_id).where(
        k.deleted_at.is_(None), or_(*named)
    )
    return list(conn.execute(query))


def insert_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert ``rows``, skipping identifiers already stored; the ids actually inserted.
    One statement of fixed text whatever the batch (drawdown.db.portable).

    Rows go in identifier order: two concurrent batches that share identifiers then wait on
    each other's unique-index entries in the same order and cannot deadlock (rule 13)."""
    ordered = sorted(rows, key=lambda row: str(row["identifier"]))
    return insert_ignoring_duplicates(
        conn, events, ordered, ["organization_id", "mode", "identifier"], returning="id"
    )


def claim_events(
    conn: Connection, tenant: Tenant, customer_id: uuid.UUID, external_id: str
) -> list[Any]:
    """Give the unclaimed events of ``external_id`` to the customer; the events claimed."""
    stmt = (
        update_owned(tenant, events)
        .where(c.external_customer_id == external_id, c.customer_id.is_(None))
        .values(customer_id=customer_id)
        .returning(c.id, c.name, c.timestamp, c.properties)
    )
    return list(conn.execute(stmt))


def get_by_id(conn: Connection, tenant: Tenant, event_id: uuid.UUID) -> Any:
    return conn.execute(select_owned(tenant, events).where(c.id == event_id)).one_or_none()


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
    query = select_owned(tenant, events).where(*extra)
    if customer_id is not None:
        query = query.where(c.customer_id == customer_id)
    if external_customer_id is not None:
        k = customers.c
        owner = select_owned(tenant, customers, k.id).where(k.external_id == external_customer_id)
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
