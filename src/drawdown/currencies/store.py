from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, Select, insert, select

from drawdown.db.tables import currencies
from drawdown.tenancy import Tenant

__all__ = ["c", "get_by_id", "insert_currency", "list_query"]

c = currencies.c


def _scoped(tenant: Tenant) -> list[Any]:
    return [c.organization_id == tenant.organization_id, c.mode == tenant.mode]


def insert_currency(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(currencies).values(**values))


def get_by_id(conn: Connection, tenant: Tenant, currency_id: uuid.UUID) -> Any:
    return conn.execute(
        select(currencies).where(c.id == currency_id, *_scoped(tenant))
    ).one_or_none()


def list_query(tenant: Tenant) -> Select[Any]:
    return select(currencies).where(*_scoped(tenant))
