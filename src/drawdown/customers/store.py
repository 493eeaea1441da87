from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, insert, or_

from drawdown.db.scope import select_owned, update_owned
from drawdown.db.tables import customers
from drawdown.tenancy import Tenant

__all__ = [
    "by_ids",
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


def get_by_id(conn: Connection, tenant: Tenant, customer_id: uuid.UUID) -> Any:
    return conn.execute(_live(tenant).where(c.id == customer_id)).one_or_none()


def get_by_external_id(conn: Connection, tenant: Tenant, external_id: str) -> Any:
    return conn.execute(_live(tenant).where(c.external_id == external_id)).one_or_none()


def by_ids(
    conn: Connection, tenant: Tenant, customer_ids: Iterable[uuid.UUID], *, deleted: bool = False
) -> dict[uuid.UUID, Any]:
    """These customers in one query (with ``deleted``, deleted ones too: history keeps
    pointing at them)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    query = select_owned(tenant, customers) if deleted else _live(tenant)
    return {row.id: row for row in conn.execute(query.where(c.id.in_(ids)))}


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
