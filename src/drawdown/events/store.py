"""All SQL of events. The ingest statements are bulk: one customer lookup, one insert."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, false, func, or_

from drawdown.db.paging import fetch_page
from drawdown.db.partitions import dedups_apart
from drawdown.db.portable import copy_rows, insert_ignoring_duplicates, is_sqlite
from drawdown.db.scope import owned, select_owned, update_owned
from drawdown.db.tables import customers, event_identifiers, events, meters
from drawdown.meters.filters import compile_sql
from drawdown.paging import PageRequest, Slice
from drawdown.records import EventRecord, from_row
from drawdown.tenancy import Tenant

__all__ = [
    "SORT_FIELDS",
    "EventFilter",
    "by_ids",
    "c",
    "claim_events",
    "count_ingested_since",
    "events_page",
    "get_by_id",
    "id_by_identifier",
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
    each other's unique-index entries in the same order and cannot deadlock."""
    ordered = sorted(rows, key=lambda row: str(row["identifier"]))
    key = ["organization_id", "mode", "identifier"]
    if not dedups_apart(conn):
        return insert_ignoring_duplicates(conn, events, ordered, key, returning="id")
    # PostgreSQL: claim the identifiers first, then COPY only the events that got theirs
    # into the monthly partitions (no conflict is possible there any more).
    claims = [
        {
            "organization_id": row["organization_id"],
            "mode": row["mode"],
            "identifier": row["identifier"],
            "event_id": row["id"],
            "timestamp": row["timestamp"],
        }
        for row in ordered
    ]
    fresh = insert_ignoring_duplicates(conn, event_identifiers, claims, key, returning="event_id")
    copy_rows(conn, events, [row for row in ordered if row["id"] in fresh])
    return fresh


def id_by_identifier(conn: Connection, tenant: Tenant, identifier: str) -> uuid.UUID | None:
    """The stored event with ``identifier``, through the dedup key on either backend."""
    if dedups_apart(conn):
        k = event_identifiers.c
        query = select_owned(tenant, event_identifiers, k.event_id).where(
            k.identifier == identifier
        )
    else:
        query = select_owned(tenant, events, c.id).where(c.identifier == identifier)
    found: uuid.UUID | None = conn.execute(query).scalar_one_or_none()
    return found


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


def get_by_id(conn: Connection, tenant: Tenant, event_id: uuid.UUID) -> EventRecord | None:
    row = conn.execute(select_owned(tenant, events).where(c.id == event_id)).one_or_none()
    return None if row is None else _record(row)


def _record(row: Any) -> EventRecord:
    return from_row(EventRecord, row)


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


@dataclass(frozen=True, slots=True)
class EventFilter:
    customer_id: uuid.UUID | None = None
    customer_ids: tuple[uuid.UUID, ...] | None = None
    # Events reported under this external id, or of the customer that has it now.
    external_customer_id: str | None = None
    name: str | None = None
    names: tuple[str, ...] | None = None
    time_from: datetime | None = None
    time_to: datetime | None = None
    # The events a meter counts: its event name and its filter (clause language).
    meter: tuple[str, dict[str, Any] | None] | None = None
    # A further condition in the filter clause language (Polar's ``filter``).
    where: dict[str, Any] | None = None
    # Only events some meter of the tenant measures (Payment Kit has no other kind).
    measured: bool = False
    # Matches nothing (a filter asks for a kind of event drawdown never stores).
    nothing: bool = False


# The fields a numbered page may sort by.
SORT_FIELDS: dict[str, Any] = {"timestamp": c.timestamp}


def _conditions(conn: Connection, tenant: Tenant, f: EventFilter) -> list[Any]:
    sqlite = is_sqlite(conn)
    out: list[Any] = []
    if f.customer_ids is not None:
        out.append(c.customer_id.in_(list(f.customer_ids)))
    if f.names is not None:
        out.append(c.name.in_(list(f.names)))
    if f.meter is not None:
        event_name, meter_filter = f.meter
        out += [c.name == event_name, compile_sql(meter_filter, c, sqlite)]
    if f.where is not None:
        out.append(compile_sql(f.where, c, sqlite))
    if f.measured:
        out.append(c.name.in_(select_owned(tenant, meters, meters.c.event_name)))
    if f.nothing:
        out.append(false())
    return out


def events_page(
    conn: Connection, tenant: Tenant, filters: EventFilter, page: PageRequest
) -> Slice[EventRecord]:
    """A page of events: a cursor page newest ingested first, or a numbered page."""
    query = list_query(
        tenant,
        customer_id=filters.customer_id,
        external_customer_id=filters.external_customer_id,
        name=filters.name,
        time_from=filters.time_from,
        time_to=filters.time_to,
        extra=_conditions(conn, tenant, filters),
    )
    return fetch_page(conn, query, c.id, page, _record, SORT_FIELDS)


def by_ids(
    conn: Connection, tenant: Tenant, event_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, EventRecord]:
    """These events, by id: one query."""
    if not event_ids:
        return {}
    rows = conn.execute(select_owned(tenant, events).where(c.id.in_(sorted(set(event_ids)))))
    return {row.id: _record(row) for row in rows}


def count_ingested_since(conn: Connection, tenant: Tenant, since: datetime) -> int:
    query = select_owned(tenant, events, func.count()).where(c.ingested_at >= since)
    return int(conn.execute(query).scalar_one())
