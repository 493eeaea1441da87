"""The credits read model: what every reader (native API, dialects, dashboard) asks of the
ledger, each answer in a fixed number of queries whatever the number of items.

Every read runs the same in-memory clock as the writers (Book.catch_up), so a grant past its
expires_at reads as expired and a due grant reads as active (having paid debt first) before
the background clock books either. Grants come back as :class:`GrantRecord` with
``remaining``, ``status`` and ``expires_at`` as of the instant asked for."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from drawdown.credits import store
from drawdown.credits.book import OPEN_STATUSES, Book, GrantState
from drawdown.credits.records import AccountRecord, EntryRecord, GrantRecord
from drawdown.credits.store import EntryFilter, GrantFilter, GrantStatusAt
from drawdown.paging import PageRequest, Slice
from drawdown.tenancy import Tenant

__all__ = [
    "AccountBalance",
    "EntryFilter",
    "EventOutcome",
    "GrantFilter",
    "GrantTotals",
    "balances",
    "customers_in_debt",
    "entries",
    "entry_total",
    "event_outcomes",
    "grant",
    "grant_totals",
    "grants",
    "grants_by_id",
    "project",
    "usage_by_meter",
]


def _books(
    conn: Connection, accounts: Sequence[AccountRecord], now: datetime, with_holds: bool = False
) -> dict[uuid.UUID, Book]:
    """Books as a reader sees them at ``now``, computed without writing: no expiry grace,
    so a grant past its expires_at reads as expired (whatever the expiry grace)."""
    books = store.load_books(conn, accounts, with_holds=with_holds)
    for book in books.values():
        book.catch_up(now)
    return books


def _projected(record: GrantRecord, state: GrantState | None) -> GrantRecord:
    if state is None:
        return record
    return dataclasses.replace(
        record, remaining=state.remaining, status=state.status, expires_at=state.expires_at
    )


def project(
    conn: Connection, tenant: Tenant, records: Sequence[GrantRecord], now: datetime
) -> list[GrantRecord]:
    """``records`` as of ``now`` (closed grants never change): two queries at most."""
    account_ids = {r.account_id for r in records if r.status in OPEN_STATUSES}
    if not account_ids:
        return list(records)
    states: dict[uuid.UUID, GrantState] = {}
    accounts = store.accounts_by_id(conn, tenant, account_ids)
    for book in _books(conn, accounts, now).values():
        states.update(book.grants)
    return [_projected(record, states.get(record.id)) for record in records]


def grants_by_id(
    conn: Connection, tenant: Tenant, grant_ids: Iterable[uuid.UUID], now: datetime
) -> list[GrantRecord]:
    """These grants as of ``now``: three queries at most, whatever their number."""
    return project(conn, tenant, store.grants_by_id(conn, tenant, grant_ids), now)


def customers_in_debt(
    conn: Connection, tenant: Tenant, currency_id: uuid.UUID | None
) -> list[uuid.UUID]:
    """Customers whose stored debt is positive (a read may find some of it settled)."""
    return store.customers_with_debt(conn, tenant, currency_id)


def grant(
    conn: Connection, tenant: Tenant, grant_id: uuid.UUID, now: datetime
) -> GrantRecord | None:
    record = store.get_grant(conn, tenant, grant_id)
    return None if record is None else project(conn, tenant, [record], now)[0]


def grants(
    conn: Connection,
    tenant: Tenant,
    filters: GrantFilter,
    page: PageRequest,
    now: datetime,
    status: str | None = None,
) -> Slice[GrantRecord]:
    """A page of grants as of ``now``; a status filter is applied in the query, so pages
    are full whenever more match. The grants the clock has not booked yet (few: it keeps
    up) are projected first to learn which of them read as ``status``."""
    status_at = None
    if status is not None:
        due = _due_grants(conn, tenant, filters, now)
        due_ids = frozenset(state.id for _, state in due if state.status == status)
        status_at = GrantStatusAt(status, now, due_ids)
    found = store.grants_page(conn, tenant, filters, page, status_at)
    return Slice(project(conn, tenant, found.items, now), found.has_more, found.total)


def _due_grants(
    conn: Connection, tenant: Tenant, filters: GrantFilter, now: datetime
) -> list[tuple[AccountRecord, GrantState]]:
    """The grants (within ``filters``) the clock has not booked yet at ``now``, as they
    read then: few, as the clock keeps up."""
    accounts = store.accounts_by_id(
        conn, tenant, store.due_accounts_among(conn, tenant, filters, now)
    )
    books = store.load_books(conn, accounts)
    due = {gid for book in books.values() for gid, g in book.grants.items() if _due(g, now)}
    for book in books.values():
        book.catch_up(now)
    return [
        (account, state)
        for account in accounts
        for state in books[account.id].grants.values()
        if state.id in due
    ]


def _due(grant: GrantState, now: datetime) -> bool:
    """As drawdown.credits.store's condition of the same name, on a loaded grant."""
    if grant.status == "pending" and grant.effective_at <= now:
        return True
    return (
        grant.status in OPEN_STATUSES and grant.expires_at is not None and grant.expires_at <= now
    )


@dataclass(frozen=True, slots=True)
class GrantTotals:
    """The grants of one currency that read as a status: amounts in base units."""

    currency_id: uuid.UUID
    amount: int
    remaining: int
    count: int


def grant_totals(
    conn: Connection, tenant: Tenant, filters: GrantFilter, now: datetime, status: str
) -> list[GrantTotals]:
    """Per currency (in id order), the totals of the grants that read as ``status`` at
    ``now``: four queries at most."""
    settled = store.grant_sums(conn, tenant, filters, GrantStatusAt(status, now, frozenset()))
    sums = {cur: (amount, left, count) for cur, amount, left, count in settled}
    for account, state in _due_grants(conn, tenant, filters, now):
        # Due grants were left out of the sums above whatever they read as.
        if state.status != status:
            continue
        amount, left, count = sums.get(account.currency_id, (0, 0, 0))
        sums[account.currency_id] = (amount + state.amount, left + state.remaining, count + 1)
    return [GrantTotals(cur, *sums[cur]) for cur in sorted(sums)]


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """One account's balance at an instant, in the currency's base units."""

    currency_id: uuid.UUID
    decimals: int
    available: int
    debt: int
    pending: int
    next_expiry_at: datetime | None
    next_expiry: int
    # Reserved by active holds; available already counts it.
    held: int = 0


def _balance(account: AccountRecord, book: Book, now: datetime) -> AccountBalance:
    pending = sum(g.amount for g in book.grants.values() if g.status == "pending")
    expiring = [
        g for g in book.grants.values() if g.status == "active" and g.remaining and g.expires_at
    ]
    next_at = min((g.expires_at for g in expiring if g.expires_at), default=None)
    next_units = sum(g.remaining for g in expiring if g.expires_at == next_at)
    return AccountBalance(
        account.currency_id,
        account.decimals,
        book.available(now),
        book.debt,
        pending,
        next_at,
        next_units,
        book.held(now) if book.holds is not None else 0,
    )


def balances(
    conn: Connection, tenant: Tenant, customer_ids: Iterable[uuid.UUID], now: datetime
) -> dict[uuid.UUID, list[AccountBalance]]:
    """Each customer's balance in every currency it has an account in, exact at ``now``:
    three queries for any number of customers."""
    wanted = list(customer_ids)
    accounts = store.accounts_of_customers(conn, tenant, wanted)
    books = _books(conn, accounts, now, with_holds=True)
    out: dict[uuid.UUID, list[AccountBalance]] = {customer_id: [] for customer_id in wanted}
    for account in accounts:
        out[account.customer_id].append(_balance(account, books[account.id], now))
    return out


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """What the ledger did with one event, in base units of its currency."""

    entries: tuple[EntryRecord, ...]
    # Drawn from grants at ingest, plus the part of its debt later grants paid.
    consumed: int
    # The part of its debt still unpaid (debt is paid oldest first).
    pending: int
    debt: int
    grant_ids: tuple[uuid.UUID, ...]


def event_outcomes(
    conn: Connection, tenant: Tenant, event_ids: Iterable[uuid.UUID], now: datetime
) -> dict[uuid.UUID, EventOutcome]:
    """The outcome of each event that has ledger entries: four queries for any number."""
    by_event: dict[uuid.UUID, list[EntryRecord]] = {}
    for entry in store.entries_for_events(conn, tenant, event_ids):
        assert entry.event_id is not None
        by_event.setdefault(entry.event_id, []).append(entry)
    debts = {e.id: e for entries in by_event.values() for e in entries if e.type == "debt"}
    later = store.later_debt(conn, tenant, debts)
    owed: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    customers = {entry.customer_id for entry in debts.values()}
    for customer_id, account_balances in balances(conn, tenant, customers, now).items():
        for balance in account_balances:
            owed[(customer_id, balance.currency_id)] = balance.debt
    out = {}
    for event_id, entries in by_event.items():
        consumed = -sum(e.amount for e in entries if e.type == "consumption")
        debt_entry = next((e for e in entries if e.type == "debt"), None)
        debt = pending = 0
        if debt_entry is not None:
            debt = -debt_entry.amount
            account_debt = owed.get((debt_entry.customer_id, debt_entry.currency_id), 0)
            pending = max(0, min(debt, account_debt - later.get(debt_entry.id, 0)))
            consumed += debt - pending
        grant_ids = tuple(dict.fromkeys(e.grant_id for e in entries if e.grant_id is not None))
        out[event_id] = EventOutcome(tuple(entries), consumed, pending, debt, grant_ids)
    return out


def entries(
    conn: Connection, tenant: Tenant, filters: EntryFilter, page: PageRequest
) -> Slice[EntryRecord]:
    return store.entries_page(conn, tenant, filters, page)


def entry_total(conn: Connection, tenant: Tenant, filters: EntryFilter) -> tuple[int, int]:
    """Ledger totals: (the sum of the amounts, the number of entries) ``filters`` select."""
    return store.entry_total(conn, tenant, filters)


def usage_by_meter(
    conn: Connection, tenant: Tenant, filters: EntryFilter
) -> list[tuple[str | None, int, int, int]]:
    """Ledger totals per meter: (rate or None, decimals, units, entries); one query."""
    return store.usage_by_meter(conn, tenant, filters)
