"""Currency rules: a currency's decimal places are fixed at creation (stored amounts are
integers scaled by them, so changing them would change every balance)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from drawdown.currencies import store
from drawdown.currencies.schemas import CurrencyCreate, CurrencyOut
from drawdown.errors import NotFoundError
from drawdown.ids import new_id, parse_id, render_id
from drawdown.paging import PageRequest, Slice
from drawdown.records import CurrencyRecord
from drawdown.tenancy import Tenant

__all__ = [
    "MAX_LISTED",
    "create_currency",
    "currencies_page",
    "get_currency",
    "list_currencies",
    "render",
]

MAX_LISTED = 500


def render(row: CurrencyRecord) -> CurrencyOut:
    return CurrencyOut(
        id=render_id("currency", row.id),
        name=row.name,
        symbol=row.symbol,
        decimals=row.decimals,
        livemode=row.mode == "live",
        created_at=row.created_at,
    )


def create_currency(
    conn: Connection, tenant: Tenant, body: CurrencyCreate, now: datetime
) -> CurrencyRecord:
    currency_id = new_id()
    store.insert_currency(
        conn,
        {
            "id": currency_id,
            "organization_id": tenant.organization_id,
            "mode": tenant.mode,
            "name": body.name,
            "symbol": body.symbol,
            "decimals": body.decimals,
            "created_at": now,
        },
    )
    row = store.get_by_id(conn, tenant, currency_id)
    assert row is not None, "written in this transaction"
    return row


def get_currency(conn: Connection, tenant: Tenant, currency_id: str) -> CurrencyRecord:
    parsed = parse_id("currency", currency_id)
    row = None if parsed is None else store.get_by_id(conn, tenant, parsed)
    if row is None:
        raise NotFoundError(f"No currency {currency_id}")
    return row


def currencies_page(conn: Connection, tenant: Tenant, page: PageRequest) -> Slice[CurrencyRecord]:
    """One page of the tenant's currencies."""
    return store.currencies_page(conn, tenant, page)


def list_currencies(conn: Connection, tenant: Tenant) -> list[CurrencyRecord]:
    """The tenant's currencies by name (at most MAX_LISTED), for pickers."""
    return store.list_by_name(conn, tenant, MAX_LISTED)
