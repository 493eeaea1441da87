"""The operator's read model of credits (the dashboard): balances of many customers at
once, debt and expiring grants across the tenant, a customer's grants and ledger pages, the
entries an event caused. Every balance and grant status is read through the same clock
(``Book.catch_up``) as the API's reads, so both show the same numbers at the same instant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from drawdown.credits import service, store
from drawdown.credits.schemas import GrantOut
from drawdown.http.pagination import Page, paginate
from drawdown.tenancy import Tenant

__all__ = [
    "MAX_EVENT_ENTRIES",
    "CurrencyBalance",
    "DebtRow",
    "balances_for_customers",
    "count_customers_in_debt",
    "customer_grants",
    "customers_in_debt",
    "event_entries",
    "expiring_grants",
    "granted_totals",
    "ledger_page",
]

MAX_EVENT_ENTRIES = 200
MAX_CUSTOMER_GRANTS = 200


@dataclass(frozen=True, slots=True)
class CurrencyBalance:
    """One customer's balance in one currency, in base units, exact at the read's instant."""

    customer_id: uuid.UUID
    currency_id: uuid.UUID
    symbol: str
    decimals: int
    available: int
    debt: int
    pending: int


@dataclass(frozen=True, slots=True)
class DebtRow:
    customer_id: uuid.UUID
    currency_id: uuid.UUID
    symbol: str
    decimals: int
    debt: int


def _read(conn: Connection, accounts: Sequence[Any], now: datetime) -> dict[uuid.UUID, Any]:
    books = store.load_books(conn, accounts)
    for book in books.values():
        book.catch_up(now)
    return books


def balances_for_customers(
    conn: Connection, tenant: Tenant, customer_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, list[CurrencyBalance]]:
    """Each customer's balances per currency: two queries whatever the number of customers."""
    accounts = store.accounts_of_customers(conn, tenant, customer_ids)
    books = _read(conn, accounts, now)
    out: dict[uuid.UUID, list[CurrencyBalance]] = {cid: [] for cid in customer_ids}
    for acc in accounts:
        book = books[acc.id]
        pending = sum(g.amount for g in book.grants.values() if g.status == "pending")
        out[acc.customer_id].append(
            CurrencyBalance(
                acc.customer_id,
                acc.currency_id,
                acc.symbol,
                acc.decimals,
                book.available(),
                book.debt,
                pending,
            )
        )
    return out


def count_customers_in_debt(conn: Connection, tenant: Tenant) -> int:
    return store.count_accounts_in_debt(conn, tenant)


def customers_in_debt(
    conn: Connection, tenant: Tenant, now: datetime, limit: int = 10
) -> list[DebtRow]:
    accounts = store.accounts_in_debt(conn, tenant, limit)
    books = _read(conn, accounts, now)
    rows = [
        DebtRow(acc.customer_id, acc.currency_id, acc.symbol, acc.decimals, books[acc.id].debt)
        for acc in accounts
    ]
    return [row for row in rows if row.debt > 0]


def expiring_grants(
    conn: Connection, tenant: Tenant, now: datetime, within: timedelta, limit: int = 20
) -> list[tuple[GrantOut, str]]:
    """Open grants with credits left that expire within ``within`` from now, soonest first,
    each with its currency's symbol."""
    rows = store.expiring_grants(conn, tenant, now, now + within, limit)
    states = service.project_grants(conn, tenant, rows, now)
    rendered = [(service.render_grant(row, states.get(row.id)), row.symbol) for row in rows]
    return [(grant, symbol) for grant, symbol in rendered if grant.status == "active"]


def customer_grants(
    conn: Connection, tenant: Tenant, customer_id: uuid.UUID, now: datetime
) -> list[GrantOut]:
    """The customer's newest grants (at most MAX_CUSTOMER_GRANTS), statuses as of ``now``."""
    query = store.grant_list_query(tenant, customer_id=customer_id, currency_id=None, statuses=None)
    rows = list(conn.execute(query.order_by(store.g.id.desc()).limit(MAX_CUSTOMER_GRANTS)))
    states = service.project_grants(conn, tenant, rows, now)
    return [service.render_grant(row, states.get(row.id)) for row in rows]


def ledger_page(
    conn: Connection,
    tenant: Tenant,
    customer_id: uuid.UUID,
    *,
    limit: int,
    starting_after: str | None,
) -> Page[Any]:
    """A page of the customer's ledger, newest first, as the API lists it."""
    query = store.ledger_list_query(tenant, {"customer_id": customer_id})
    return paginate(
        conn,
        query,
        store.e.id,
        kind="ledger_entry",
        limit=limit,
        max_limit=limit,
        starting_after=starting_after,
        render=service.render_entry,
    )


def event_entries(conn: Connection, tenant: Tenant, event_id: uuid.UUID) -> list[Any]:
    """The ledger entries an event caused, in booking order."""
    query = store.ledger_list_query(tenant, {"event_id": event_id})
    rows = conn.execute(query.order_by(store.e.id).limit(MAX_EVENT_ENTRIES))
    return [service.render_entry(row) for row in rows]


def granted_totals(
    conn: Connection, tenant: Tenant, currency_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    return store.granted_totals(conn, tenant, currency_id, customer_ids)
