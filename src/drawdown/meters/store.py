from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, Select, exists, insert, or_, select

from drawdown.db.paging import fetch_page
from drawdown.db.scope import owned, select_owned, update_owned
from drawdown.db.tables import currencies, events, meters
from drawdown.paging import PageRequest, Slice
from drawdown.records import MeterRecord, from_row
from drawdown.tenancy import Tenant

__all__ = [
    "SORT_FIELDS",
    "by_event_names",
    "c",
    "events_exist",
    "get_by_event_name",
    "get_by_id",
    "insert_meter",
    "list_query",
    "listed",
    "meters_for_names",
    "meters_page",
    "oldest_for_currency",
    "update_meter",
]

c = meters.c


def insert_meter(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(meters).values(**values))


def get_by_id(conn: Connection, tenant: Tenant, meter_id: uuid.UUID) -> MeterRecord | None:
    return _one(conn.execute(select_owned(tenant, meters).where(c.id == meter_id)).one_or_none())


def _one(row: Any) -> MeterRecord | None:
    return None if row is None else _record(row)


def _record(row: Any) -> MeterRecord:
    return from_row(MeterRecord, row)


def get_by_event_name(conn: Connection, tenant: Tenant, event_name: str) -> MeterRecord | None:
    query = select_owned(tenant, meters).where(c.event_name == event_name)
    return _one(conn.execute(query).one_or_none())


def update_meter(
    conn: Connection, tenant: Tenant, meter_id: uuid.UUID, values: dict[str, Any]
) -> None:
    conn.execute(update_owned(tenant, meters).where(c.id == meter_id).values(**values))


def events_exist(conn: Connection, tenant: Tenant, event_name: str) -> bool:
    e = events.c
    query = select(exists().where(owned(events, tenant), e.name == event_name))
    return bool(conn.execute(query).scalar())


def meters_for_names(conn: Connection, tenant: Tenant, names: Collection[str]) -> list[MeterRecord]:
    """Meters (with their currency's decimals) over any of ``names``: one query."""
    if not names:
        return []
    query = (
        select_owned(tenant, meters, meters, currencies.c.decimals)
        .join(currencies, currencies.c.id == c.currency_id)
        .where(c.event_name.in_(list(names)))
    )
    return [_record(row) for row in conn.execute(query)]


def list_query(
    tenant: Tenant, *, event_name: str | None, status: str | None, q: str | None
) -> Select[Any]:
    query = select_owned(tenant, meters)
    if event_name is not None:
        query = query.where(c.event_name == event_name)
    if status is not None:
        query = query.where(c.status == status)
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(or_(c.name.ilike(pattern), c.event_name.ilike(pattern)))
    return query


# The fields a numbered page may sort by (ids are time-ordered: creation order).
SORT_FIELDS: dict[str, Any] = {"name": c.name, "created_at": c.id}


def meters_page(
    conn: Connection,
    tenant: Tenant,
    page: PageRequest,
    *,
    event_name: str | None = None,
    status: str | None = None,
    q: str | None = None,
) -> Slice[MeterRecord]:
    query = list_query(tenant, event_name=event_name, status=status, q=q)
    return fetch_page(conn, query, c.id, page, _record, SORT_FIELDS)


def by_event_names(
    conn: Connection, tenant: Tenant, names: Collection[str]
) -> dict[str, MeterRecord]:
    """The meters over any of ``names``, by event name: one query."""
    if not names:
        return {}
    query = select_owned(tenant, meters).where(c.event_name.in_(list(names)))
    return {row.event_name: _record(row) for row in conn.execute(query)}


def oldest_for_currency(
    conn: Connection, tenant: Tenant, currency_id: uuid.UUID
) -> MeterRecord | None:
    """The oldest meter drawing on this currency, if any."""
    query = select_owned(tenant, meters).where(c.currency_id == currency_id).order_by(c.id)
    return _one(conn.execute(query.limit(1)).one_or_none())


def listed(
    conn: Connection, tenant: Tenant, ids: Collection[uuid.UUID], *, status: str | None
) -> list[MeterRecord]:
    """The meters with these ids (all of them when none are given) and this status, by
    name: one query."""
    query = list_query(tenant, event_name=None, status=status, q=None)
    if ids:
        query = query.where(c.id.in_(sorted(set(ids))))
    return [_record(row) for row in conn.execute(query.order_by(c.name, c.id))]
