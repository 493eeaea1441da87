from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, insert, or_, select

from drawdown.db.paging import fetch_page
from drawdown.db.scope import select_owned, update_owned
from drawdown.db.tables import customers
from drawdown.paging import PageRequest, Slice
from drawdown.records import CustomerRecord, from_row
from drawdown.tenancy import Tenant

__all__ = [
    "SORT_FIELDS",
    "by_ids",
    "customers_page",
    "customers_range",
    "external_id_taken",
    "get_by_external_id",
    "get_by_id",
    "insert_customer",
    "list_query",
    "update_customer",
]

c = customers.c


def _live(tenant: Tenant) -> Select[Any]:
    """The tenant's customers that are not deleted."""
    return select_owned(tenant, customers).where(c.deleted_at.is_(None))


def insert_customer(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(customers).values(**values))


def get_by_id(conn: Connection, tenant: Tenant, customer_id: uuid.UUID) -> CustomerRecord | None:
    return _one(conn.execute(_live(tenant).where(c.id == customer_id)).one_or_none())


def get_by_external_id(conn: Connection, tenant: Tenant, external_id: str) -> CustomerRecord | None:
    return _one(conn.execute(_live(tenant).where(c.external_id == external_id)).one_or_none())


def _one(row: Any) -> CustomerRecord | None:
    return None if row is None else from_row(CustomerRecord, row)


def by_ids(
    conn: Connection, tenant: Tenant, customer_ids: Iterable[uuid.UUID], *, deleted: bool = False
) -> dict[uuid.UUID, CustomerRecord]:
    """These customers in one query (with ``deleted``, deleted ones too: history keeps
    pointing at them)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    query = select_owned(tenant, customers) if deleted else _live(tenant)
    rows = conn.execute(query.where(c.id.in_(ids)))
    return {row.id: from_row(CustomerRecord, row) for row in rows}


def external_id_taken(conn: Connection, tenant: Tenant, external_id: str) -> bool:
    return get_by_external_id(conn, tenant, external_id) is not None


def update_customer(
    conn: Connection, tenant: Tenant, customer_id: uuid.UUID, values: dict[str, Any], now: datetime
) -> None:
    conn.execute(
        update_owned(tenant, customers).where(c.id == customer_id).values(**values, updated_at=now)
    )


def list_query(
    tenant: Tenant, *, email: str | None, external_id: str | None, q: str | None
) -> Select[Any]:
    query = _live(tenant)
    if email is not None:
        query = query.where(c.email == email)
    if external_id is not None:
        query = query.where(c.external_id == external_id)
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(
            or_(
                c.name.ilike(pattern),
                c.email.ilike(pattern),
                c.external_id.ilike(pattern),
            )
        )
    return query


# The fields a numbered page may sort by (ids are time-ordered: creation order).
SORT_FIELDS: dict[str, Any] = {"created_at": c.id, "email": c.email, "name": c.name}


def customers_page(
    conn: Connection,
    tenant: Tenant,
    page: PageRequest,
    *,
    email: str | None = None,
    external_id: str | None = None,
    q: str | None = None,
) -> Slice[CustomerRecord]:
    query = list_query(tenant, email=email, external_id=external_id, q=q)
    return fetch_page(conn, query, c.id, page, _record, SORT_FIELDS)


def _record(row: Any) -> CustomerRecord:
    return from_row(CustomerRecord, row)


def customers_range(
    conn: Connection,
    tenant: Tenant,
    *,
    ids: Collection[uuid.UUID] = (),
    external_ids: Collection[str] = (),
    offset: int,
    count: int,
) -> tuple[int, list[CustomerRecord]]:
    """(how many live customers match, the ``count`` of them from ``offset``), newest first;
    ``ids`` and ``external_ids`` narrow the match when given. Two queries."""
    query = _live(tenant)
    if ids:
        query = query.where(c.id.in_(sorted(set(ids))))
    if external_ids:
        query = query.where(c.external_id.in_(sorted(set(external_ids))))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(c.id.desc()).offset(offset).limit(count))
    return int(total), [from_row(CustomerRecord, row) for row in rows]
