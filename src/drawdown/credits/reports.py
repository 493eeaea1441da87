"""What the dashboard asks of credits, over the read model (drawdown.credits.read): balances
of a page of customers with their currencies' symbols, debt and expiring grants across the
tenant, a customer's grants and ledger pages, what an event did to the ledger. Every
balance and grant status is read through the same clock as the API's reads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from drawdown.credits import read, service, store
from drawdown.credits.read import EventOutcome
from drawdown.credits.schemas import GrantOut, LedgerEntryOut
from drawdown.currencies import service as currencies
from drawdown.http.pagination import Page, cursor, page_of
from drawdown.tenancy import Tenant

__all__ = [
    "CurrencyBalance",
    "DebtRow",
    "EventOutcome",
    "balances_for_customers",
    "count_customers_in_debt",
    "customer_grants",
    "customers_in_debt",
    "event_outcome",
    "expiring_grants",
    "granted_totals",
    "ledger_page",
]

MAX_CUSTOMER_GRANTS = 200
MAX_DEBTORS_READ = 200


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
    # Reserved by active holds; available already counts it.
    held: int = 0


@dataclass(frozen=True, slots=True)
class DebtRow:
    customer_id: uuid.UUID
    currency_id: uuid.UUID
    symbol: str
    decimals: int
    debt: int


def _symbols(conn: Connection, tenant: Tenant) -> dict[uuid.UUID, str]:
    return {row.id: row.symbol for row in currencies.list_currencies(conn, tenant)}


def balances_for_customers(
    conn: Connection, tenant: Tenant, customer_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, list[CurrencyBalance]]:
    """Each customer's balances per currency: three queries whatever the number."""
    found = read.balances(conn, tenant, customer_ids, now)
    symbols = _symbols(conn, tenant) if any(found.values()) else {}
    return {
        customer_id: [
            CurrencyBalance(
                customer_id,
                b.currency_id,
                symbols.get(b.currency_id, ""),
                b.decimals,
                b.available,
                b.debt,
                b.pending,
                b.held,
            )
            for b in accounts
        ]
        for customer_id, accounts in found.items()
    }


def count_customers_in_debt(conn: Connection, tenant: Tenant) -> int:
    return len(read.customers_in_debt(conn, tenant, None))


def customers_in_debt(
    conn: Connection, tenant: Tenant, now: datetime, limit: int = 10
) -> list[DebtRow]:
    """The largest debts now (among the first MAX_DEBTORS_READ customers in debt)."""
    debtors = read.customers_in_debt(conn, tenant, None)[:MAX_DEBTORS_READ]
    rows = [
        DebtRow(b.customer_id, b.currency_id, b.symbol, b.decimals, b.debt)
        for accounts in balances_for_customers(conn, tenant, debtors, now).values()
        for b in accounts
        if b.debt > 0
    ]
    return sorted(rows, key=lambda row: (-row.debt, row.customer_id))[:limit]


def expiring_grants(
    conn: Connection, tenant: Tenant, now: datetime, within: timedelta, limit: int = 20
) -> list[tuple[GrantOut, str]]:
    """Active grants with credits left that expire within ``within``, soonest first, each
    with its currency's symbol."""
    records = read.project(
        conn, tenant, store.expiring_grants(conn, tenant, now, now + within, limit), now
    )
    symbols = _symbols(conn, tenant) if records else {}
    return [
        (service.render_grant(r), symbols.get(r.currency_id, ""))
        for r in records
        if r.status == "active"
    ]


def customer_grants(
    conn: Connection, tenant: Tenant, customer_id: uuid.UUID, now: datetime
) -> list[GrantOut]:
    """The customer's newest grants (at most MAX_CUSTOMER_GRANTS), statuses as of ``now``."""
    filters = read.GrantFilter(customer_id=customer_id)
    found = read.grants(
        conn,
        tenant,
        filters,
        cursor("credit_grant", MAX_CUSTOMER_GRANTS, None, MAX_CUSTOMER_GRANTS),
        now,
    )
    return [service.render_grant(record) for record in found.items]


def ledger_page(
    conn: Connection,
    tenant: Tenant,
    customer_id: uuid.UUID,
    *,
    limit: int,
    starting_after: str | None,
) -> Page[LedgerEntryOut]:
    """A page of the customer's ledger, newest first, as the API lists it."""
    page = cursor("ledger_entry", limit, starting_after, limit)
    found = read.entries(conn, tenant, read.EntryFilter(customer_id=customer_id), page)
    return page_of(found, service.render_entry)


def event_outcome(
    conn: Connection, tenant: Tenant, event_id: uuid.UUID, now: datetime
) -> tuple[list[LedgerEntryOut], EventOutcome | None]:
    """The ledger entries an event caused, in booking order, and its outcome."""
    outcome = read.event_outcomes(conn, tenant, [event_id], now).get(event_id)
    if outcome is None:
        return [], None
    ordered = sorted(outcome.entries, key=lambda entry: (entry.sequence, entry.id))
    return [service.render_entry(entry) for entry in ordered], outcome


def granted_totals(
    conn: Connection, tenant: Tenant, currency_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    return store.granted_totals(conn, tenant, currency_id, customer_ids)
