from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, Select, insert

from drawdown.db.paging import fetch_page
from drawdown.db.scope import select_owned
from drawdown.db.tables import currencies
from drawdown.paging import PageRequest, Slice
from drawdown.records import CurrencyRecord, from_row
from drawdown.tenancy import Tenant

__all__ = [
    "c",
    "currencies_page",
    "get_by_id",
    "insert_currency",
    "list_by_name",
    "list_query",
]

c = currencies.c


def insert_currency(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(currencies).values(**values))


def get_by_id(conn: Connection, tenant: Tenant, currency_id: uuid.UUID) -> CurrencyRecord | None:
    query = select_owned(tenant, currencies).where(c.id == currency_id)
    row = conn.execute(query).one_or_none()
    return None if row is None else from_row(CurrencyRecord, row)


def list_query(tenant: Tenant) -> Select[Any]:
    return select_owned(tenant, currencies)


def currencies_page(conn: Connection, tenant: Tenant, page: PageRequest) -> Slice[CurrencyRecord]:
    return fetch_page(conn, list_query(tenant), c.id, page, _record)


def _record(row: Any) -> CurrencyRecord:
    return from_row(CurrencyRecord, row)


def list_by_name(conn: Connection, tenant: Tenant, limit: int) -> list[CurrencyRecord]:
    query = list_query(tenant).order_by(c.name, c.id).limit(limit)
    return [from_row(CurrencyRecord, row) for row in conn.execute(query)]
