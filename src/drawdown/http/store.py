"""All SQL of the HTTP layer: the stored responses of idempotent requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert

from drawdown.db.scope import owned, select_owned
from drawdown.db.tables import idempotency_keys
from drawdown.tenancy import Tenant

__all__ = ["forget_older", "insert_response", "stored_response"]

k = idempotency_keys.c


def stored_response(conn: Connection, tenant: Tenant, key: str, newer_than: datetime) -> Any:
    query = select_owned(tenant, idempotency_keys).where(k.key == key, k.created_at > newer_than)
    return conn.execute(query).one_or_none()


def forget_older(conn: Connection, tenant: Tenant, key: str, not_after: datetime) -> None:
    conn.execute(
        delete(idempotency_keys).where(
            owned(idempotency_keys, tenant), k.key == key, k.created_at <= not_after
        )
    )


def insert_response(conn: Connection, tenant: Tenant, values: dict[str, Any]) -> None:
    conn.execute(
        insert(idempotency_keys).values(
            organization_id=tenant.organization_id, mode=tenant.mode, **values
        )
    )
