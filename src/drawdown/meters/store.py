from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, Select, exists, insert, or_, select

from drawdown.db.scope import owned, select_owned, update_owned
from drawdown.db.tables import currencies, events, meters
from drawdown.tenancy import Tenant

__all__ = [
    "c",
    "events_exist",
    "get_by_event_name",
    "get_by_id",
    "insert_meter",
    "list_query",
    "meters_for_names",
    "update_meter",
]

c = meters.c


def insert_meter(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(meters).values(**values))


def get_by_id(conn: Connection, tenant: Tenant, meter_id: uuid.UUID) -> Any:
    return conn.execute(select_owned(tenant, meters).where(c.id == meter_id)).one_or_none()


def get_by_event_name(conn: Connection, tenant: Tenant, event_name: str) -> Any:
    query = select_owned(tenant, meters).where(c.event_name == event_name)
    return conn.execute(query).one_or_none()


def update_meter(
    conn: Connection, tenant: Tenant, meter_id: uuid.UUID, values: dict[str, Any]
) -> None:
    conn.execute(update_owned(tenant, meters).where(c.id == meter_id).values(**values))


def events_exist(conn: Connection, tenant: Tenant, event_name: str) -> bool:
    e = events.c
    query = select(exists().where(owned(events, tenant), e.name == event_name))
    return bool(conn.execute(query).scalar())


def meters_for_names(conn: Connection, tenant: Tenant, names: Collection[str]) -> list[Any]:
    """Meters (with their currency's decimals) over any of ``names``: one query."""
    if not names:
        return []
    query = (
        select_owned(tenant, meters, meters, currencies.c.decimals)
        .join(currencies, currencies.c.id == c.currency_id)
        .where(c.event_name.in_(list(names)))
    )
    return list(conn.execute(query))


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
