from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, insert, or_

from drawdown.db.portable import advisory_xact_locks
from drawdown.db.scope import select_owned, update_owned
from drawdown.db.tables import customers
from drawdown.tenancy import Tenant

__all__ = [
    "external_id_taken",
    "get_by_external_id",
    "get_by_id",
    "insert_customer",
    "list_query",
    "lock_external_ids",
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


def lock_external_ids(conn: Connection, tenant: Tenant, external_ids: Iterable[str]) -> None:
    """Serialize, until commit, the transactions that resolve or create these external ids.

    Ingest stores an event for an unknown external id while another transaction may be
    creating that customer; without a common lock the creator's claim could miss the event
    and ingest could miss the customer (DESIGN rule 11). On PostgreSQL: transaction-scoped
    advisory locks, taken in sorted order so lockers never deadlock. SQLite already runs one
    writer at a time."""
    prefix = f"{tenant.organization_id}:{tenant.mode}:"
    advisory_xact_locks(conn, (prefix + external_id for external_id in external_ids))
