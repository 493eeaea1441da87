"""The little SQL the dialect needs of its own: page-number pagination (Payment Kit's
``page``/``pageSize`` with a total ``count``) over queries the domain stores build, and
read-only lookups that join what Payment Kit shows together (an entry's event and meter,
a currency's meter). It never writes."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, Select, func, select

from drawdown.db.scope import select_owned
from drawdown.db.tables import credit_accounts, customers, events, ledger_entries, meters
from drawdown.tenancy import Tenant

__all__ = [
    "count_and_page",
    "customer_in_any_state",
    "customers_with_debt",
    "entries_for_events",
    "event_id_by_identifier",
    "event_ids_named",
    "events_by_id",
    "measured_by_a_meter",
    "meter_for_currency",
    "meters_by_event_name",
    "sum_amounts",
]


def count_and_page(
    conn: Connection, query: Select[Any], order_column: Column[Any], page: int, page_size: int
) -> tuple[int, Sequence[Any]]:
    """The number of rows ``query`` matches, and page ``page`` (1-based) of them, newest
    first (ids are time-ordered)."""
    count = int(conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())
    rows = conn.execute(
        query.order_by(order_column.desc()).limit(page_size).offset((page - 1) * page_size)
    ).all()
    return count, rows


def customer_in_any_state(conn: Connection, tenant: Tenant, customer_id: uuid.UUID) -> Any:
    """A customer even if deleted: history (grants, entries) keeps pointing at it."""
    query = select_owned(tenant, customers).where(customers.c.id == customer_id)
    return conn.execute(query).one()


def event_id_by_identifier(conn: Connection, tenant: Tenant, identifier: str) -> uuid.UUID | None:
    query = select_owned(tenant, events, events.c.id).where(events.c.identifier == identifier)
    return conn.execute(query).scalar_one_or_none()


def events_by_id(
    conn: Connection, tenant: Tenant, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    if not ids:
        return {}
    rows = conn.execute(select_owned(tenant, events).where(events.c.id.in_(list(ids))))
    return {row.id: row for row in rows}


def meters_by_event_name(
    conn: Connection, tenant: Tenant, names: Collection[str]
) -> dict[str, Any]:
    if not names:
        return {}
    query = select_owned(tenant, meters).where(meters.c.event_name.in_(list(names)))
    return {row.event_name: row for row in conn.execute(query)}


def meter_for_currency(conn: Connection, tenant: Tenant, currency_id: uuid.UUID) -> Any:
    """The oldest meter drawing on this currency, if any."""
    query = (
        select_owned(tenant, meters)
        .where(meters.c.currency_id == currency_id)
        .order_by(meters.c.id)
        .limit(1)
    )
    return conn.execute(query).one_or_none()


def customers_with_debt(
    conn: Connection, tenant: Tenant, currency_id: uuid.UUID | None
) -> list[uuid.UUID]:
    """Customers whose stored debt is positive (a read may find some of it settled)."""
    a = credit_accounts.c
    query = select_owned(tenant, credit_accounts, a.customer_id).where(a.debt > 0)
    if currency_id is not None:
        query = query.where(a.currency_id == currency_id)
    return list(conn.execute(query.distinct()).scalars())


def event_ids_named(tenant: Tenant, name: str) -> Select[Any]:
    """Ids of the events called ``name``, for ``IN (...)`` filters."""
    return select_owned(tenant, events, events.c.id).where(events.c.name == name)


def measured_by_a_meter(tenant: Tenant) -> ColumnElement[bool]:
    """A condition on events: some meter of the tenant has the event's name."""
    names = select_owned(tenant, meters, meters.c.event_name)
    return events.c.name.in_(names)


def entries_for_events(
    conn: Connection, tenant: Tenant, event_ids: Collection[uuid.UUID]
) -> list[Any]:
    if not event_ids:
        return []
    e = ledger_entries.c
    query = select_owned(tenant, ledger_entries).where(e.event_id.in_(list(event_ids)))
    return list(conn.execute(query.order_by(e.sequence)))


def sum_amounts(conn: Connection, query: Select[Any]) -> int:
    """The sum of ``amount`` over the ledger entries ``query`` selects."""
    sub = query.subquery()
    return int(conn.execute(select(func.coalesce(func.sum(sub.c.amount), 0))).scalar_one())
