"""All SQL of the credits domain."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    union,
    update,
)

from drawdown.credits.book import NO_GRACE, OPEN_STATUSES, Book, EntryDraft, GrantState, HoldState
from drawdown.db.portable import among, copy_rows, for_update, insert_ignoring_duplicates
from drawdown.db.scope import every_tenant, owned, select_owned, update_owned
from drawdown.db.tables import (
    credit_accounts,
    credit_grants,
    credit_holds,
    currencies,
    customers,
    ledger_entries,
    meters,
)
from drawdown.ids import new_id
from drawdown.tenancy import Tenant

__all__ = [
    "AccountKey",
    "AccountRow",
    "due_account_ids",
    "ensure_accounts",
    "flush_books",
    "get_grant",
    "get_hold",
    "grant_list_query",
    "hold_list_query",
    "insert_hold",
    "ledger_list_query",
    "load_books",
    "lock_accounts",
    "lock_due_accounts",
    "open_accounts_of_customer",
    "update_grant_metadata",
]

a = credit_accounts.c
g = credit_grants.c
e = ledger_entries.c
h = credit_holds.c

# (customer_id, currency_id)
AccountKey = tuple[uuid.UUID, uuid.UUID]
AccountRow = Any


def ensure_accounts(
    conn: Connection, tenant: Tenant, keys: Iterable[AccountKey], now: datetime
) -> None:
    """Create missing accounts; concurrent creators of the same account both succeed."""
    rows = [
        {
            "id": new_id(),
            "organization_id": tenant.organization_id,
            "mode": tenant.mode,
            "customer_id": customer_id,
            "currency_id": currency_id,
            "balance": 0,
            "debt": 0,
            "last_sequence": 0,
            "updated_at": now,
        }
        for customer_id, currency_id in sorted(set(keys))
    ]
    insert_ignoring_duplicates(conn, credit_accounts, rows, ["customer_id", "currency_id"])


def lock_accounts(
    conn: Connection, tenant: Tenant, keys: Iterable[AccountKey], *, skip_locked: bool = False
) -> list[AccountRow]:
    """Lock the existing accounts among ``keys``, always in id order so concurrent batches
    cannot deadlock (rule 13). On SQLite the transaction already holds the database's write
    lock (BEGIN IMMEDIATE). One statement of fixed text whatever the batch: on PostgreSQL the
    ids travel as two arrays, so the driver never re-parses a query per batch."""
    wanted = set(keys)
    if not wanted:
        return []
    customer_ids = sorted({customer for customer, _ in wanted})
    currency_ids = sorted({currency for _, currency in wanted})
    query = (
        select_owned(tenant, credit_accounts)
        .where(among(conn, a.customer_id, customer_ids), among(conn, a.currency_id, currency_ids))
        .order_by(a.id)
    )
    rows = conn.execute(for_update(conn, query, skip_locked=skip_locked))
    # The query may also lock a customer's account in another currency of the batch: harmless.
    return [row for row in rows if (row.customer_id, row.currency_id) in wanted]


def lock_due_accounts(
    conn: Connection, account_ids: Sequence[uuid.UUID], *, skip_locked: bool = False
) -> list[AccountRow]:
    """Lock accounts of any tenant by id (the background clock's pass), in id order."""
    query = every_tenant(
        select(credit_accounts).where(a.id.in_(sorted(account_ids))).order_by(a.id)
    )
    return list(conn.execute(for_update(conn, query, skip_locked=skip_locked)))


def _grant_state(row: Any) -> GrantState:
    return GrantState(
        id=row.id,
        amount=row.amount,
        remaining=row.remaining,
        category=row.category,
        priority=row.priority,
        effective_at=row.effective_at,
        expires_at=row.expires_at,
        status=row.status,
        booked_at=row.booked_at,
        closed_at=row.closed_at,
    )


def load_books(
    conn: Connection, accounts: Sequence[AccountRow], *, with_holds: bool = False
) -> dict[uuid.UUID, Book]:
    """Each account with its open (pending or active) grants, in one query; with its
    active holds too (a second query) when ``with_holds``."""
    books = {row.id: Book(row.balance, row.debt, row.last_sequence, grants={}) for row in accounts}
    if not books:
        return books
    rows = conn.execute(
        select(credit_grants).where(g.account_id.in_(list(books)), g.status.in_(OPEN_STATUSES))
    )
    for row in rows:
        books[row.account_id].grants[row.id] = _grant_state(row)
    if with_holds:
        _load_holds(conn, books)
    return books


def _load_holds(conn: Connection, books: dict[uuid.UUID, Book]) -> None:
    holds: dict[uuid.UUID, dict[uuid.UUID, HoldState]] = {account_id: {} for account_id in books}
    rows = conn.execute(
        select(h.id, h.account_id, h.amount, h.expires_at, h.status).where(
            h.account_id.in_(list(books)), h.status == "active"
        )
    )
    for row in rows:
        holds[row.account_id][row.id] = HoldState(row.id, row.amount, row.expires_at, row.status)
    for account_id, book in books.items():
        book.holds = holds[account_id]


def flush_books(
    conn: Connection,
    pairs: Sequence[tuple[AccountRow, Book]],
    now: datetime,
    new_grant_values: dict[uuid.UUID, dict[str, Any]] | None = None,
) -> None:
    """Write what each book changed (new grants, grant updates, entries, the account), one
    multi-row statement per kind of write for the whole batch."""
    new_grant_values = new_grant_values or {}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    accounts: list[dict[str, Any]] = []
    for account, book in pairs:
        if not book.changed and not book.entries:
            continue  # hold resolutions alone are written below
        for grant_id in sorted(book.changed):
            grant = book.grants[grant_id]
            if grant.is_new:
                inserts.append(_new_grant_row(grant, account, now, new_grant_values))
            else:
                updates.append(_grant_update_row(grant, now))
        entries.extend(_entry_row(entry, account, now) for entry in book.entries)
        accounts.append(
            {
                "b_id": account.id,
                "balance": book.balance,
                "debt": book.debt,
                "last_sequence": book.last_sequence,
                "updated_at": now,
            }
        )
    if inserts:
        conn.execute(insert(credit_grants), inserts)
    _update_by_id(conn, credit_grants, updates)
    copy_rows(conn, ledger_entries, entries)
    _update_by_id(conn, credit_accounts, accounts)
    _update_by_id(
        conn, credit_holds, [row for _, book in pairs for row in _hold_updates(book, now)]
    )


def _hold_updates(book: Book, now: datetime) -> list[dict[str, Any]]:
    """Resolutions of holds that were already stored (new ones are inserted whole)."""
    out = []
    for hold_id in sorted(book.changed_holds):
        hold = (book.holds or {})[hold_id]
        if hold.is_new:
            continue
        out.append(
            {
                "b_id": hold.id,
                "status": hold.status,
                "captured_amount": hold.captured_amount,
                "debt_incurred": hold.debt_incurred,
                "event_id": hold.event_id,
                "reason": hold.reason,
                "resolved_at": hold.resolved_at,
                "updated_at": now,
            }
        )
    return out


def _update_by_id(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """One executemany UPDATE of the columns in ``rows`` (keyed by ``b_id``)."""
    if not rows:
        return
    columns = [name for name in rows[0] if name != "b_id"]
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({name: bindparam(name) for name in columns})
    )
    conn.execute(statement, list(rows))


def _new_grant_row(
    grant: GrantState,
    account: AccountRow,
    now: datetime,
    extra: dict[uuid.UUID, dict[str, Any]],
) -> dict[str, Any]:
    values = {
        "id": grant.id,
        "organization_id": account.organization_id,
        "mode": account.mode,
        "customer_id": account.customer_id,
        "currency_id": account.currency_id,
        "account_id": account.id,
        "amount": grant.amount,
        "remaining": grant.remaining,
        "category": grant.category,
        "priority": grant.priority,
        "effective_at": grant.effective_at,
        "expires_at": grant.expires_at,
        "status": grant.status,
        "booked_at": grant.booked_at,
        "closed_at": grant.closed_at,
        "name": "",
        "metadata_": {},
        "source_event_id": None,
        "created_at": now,
        "updated_at": now,
    }
    values.update(extra.get(grant.id, {}))
    return values


def _grant_update_row(grant: GrantState, now: datetime) -> dict[str, Any]:
    return {
        "b_id": grant.id,
        "remaining": grant.remaining,
        "status": grant.status,
        "booked_at": grant.booked_at,
        "closed_at": grant.closed_at,
        "expires_at": grant.expires_at,
        "updated_at": now,
    }


def _entry_row(entry: EntryDraft, account: AccountRow, now: datetime) -> dict[str, Any]:
    return {
        "id": new_id(),
        "organization_id": account.organization_id,
        "mode": account.mode,
        "account_id": account.id,
        "customer_id": account.customer_id,
        "currency_id": account.currency_id,
        "sequence": entry.sequence,
        "type": entry.type,
        "amount": entry.amount,
        "balance_after": entry.balance_after,
        "grant_id": entry.grant_id,
        "event_id": entry.event_id,
        "reason": entry.reason,
        "created_at": now,
    }


def get_grant(conn: Connection, tenant: Tenant, grant_id: uuid.UUID) -> Any:
    return conn.execute(
        select_owned(tenant, credit_grants, credit_grants, currencies.c.decimals)
        .join(currencies, currencies.c.id == g.currency_id)
        .where(g.id == grant_id)
    ).one_or_none()


def grant_list_query(
    tenant: Tenant,
    *,
    customer_id: uuid.UUID | None,
    currency_id: uuid.UUID | None,
    statuses: Sequence[str] | None,
) -> Select[Any]:
    query = select_owned(tenant, credit_grants, credit_grants, currencies.c.decimals).join(
        currencies, currencies.c.id == g.currency_id
    )
    if customer_id is not None:
        query = query.where(g.customer_id == customer_id)
    if currency_id is not None:
        query = query.where(g.currency_id == currency_id)
    if statuses is not None:
        query = query.where(g.status.in_(statuses))
    return query


def ledger_list_query(tenant: Tenant, filters: dict[str, Any]) -> Select[Any]:
    query = select_owned(tenant, ledger_entries, ledger_entries, currencies.c.decimals).join(
        currencies, currencies.c.id == e.currency_id
    )
    for name in ("customer_id", "currency_id", "grant_id", "event_id", "type"):
        if filters.get(name) is not None:
            query = query.where(e[name] == filters[name])
    if filters.get("created_from") is not None:
        query = query.where(e.created_at >= filters["created_from"])
    if filters.get("created_to") is not None:
        query = query.where(e.created_at < filters["created_to"])
    return query


def get_entry(conn: Connection, tenant: Tenant, entry_id: uuid.UUID) -> Any:
    return conn.execute(ledger_list_query(tenant, {}).where(e.id == entry_id)).one_or_none()


def accounts_of_customer(conn: Connection, tenant: Tenant, customer_id: uuid.UUID) -> list[Any]:
    return list(
        conn.execute(
            select_owned(tenant, credit_accounts, credit_accounts, currencies.c.decimals)
            .join(currencies, currencies.c.id == a.currency_id)
            .where(a.customer_id == customer_id)
            .order_by(a.id)
        )
    )


def account_for(
    conn: Connection, tenant: Tenant, customer_id: uuid.UUID, currency_id: uuid.UUID
) -> Any:
    return conn.execute(
        select_owned(tenant, credit_accounts).where(
            a.customer_id == customer_id, a.currency_id == currency_id
        )
    ).one_or_none()


def due_account_ids(
    conn: Connection, now: datetime, limit: int, grace: timedelta = NO_GRACE
) -> list[uuid.UUID]:
    """Accounts with a grant waiting to activate or to expire (its expiry ``grace`` past),
    or a hold past its expires_at (every tenant)."""
    grants_due = select(g.account_id).where(
        or_(
            and_(g.status == "pending", g.effective_at <= now),
            and_(g.status.in_(OPEN_STATUSES), g.expires_at <= now - grace),
        )
    )
    holds_due = select(h.account_id).where(h.status == "active", h.expires_at <= now)
    due = union(grants_due, holds_due).subquery()
    return list(conn.execute(every_tenant(select(due.c.account_id).limit(limit))).scalars())


def accounts_by_id(conn: Connection, tenant: Tenant, account_ids: Sequence[uuid.UUID]) -> list[Any]:
    query = select_owned(tenant, credit_accounts).where(a.id.in_(list(account_ids)))
    return list(conn.execute(query.order_by(a.id)))


def update_grant_metadata(
    conn: Connection, tenant: Tenant, grant_id: uuid.UUID, metadata: dict[str, Any], now: datetime
) -> None:
    conn.execute(
        update_owned(tenant, credit_grants)
        .where(g.id == grant_id)
        .values(metadata_=metadata, updated_at=now)
    )


def access_rows(
    conn: Connection,
    tenant: Tenant,
    customer: tuple[uuid.UUID | None, str | None],
    meter: tuple[uuid.UUID | None, str | None],
    now: datetime,
) -> list[Any]:
    """Everything an access check reads, in one round trip: the live customer (by id or
    external id), the meter (by id or event_name) with its currency's decimals, the
    customer's account in that currency, what its holds reserve at ``now``, and its open
    grants (one row per grant; none when the customer or the meter does not exist)."""
    k, m, cur = customers.c, meters.c, currencies.c
    customer_id, external_id = customer
    meter_id, event_name = meter
    held = (
        select(func.coalesce(func.sum(h.amount), 0))
        .where(h.account_id == a.id, h.status == "active", h.expires_at > now)
        .scalar_subquery()
    )
    query = (
        select(
            k.id.label("customer_id"),
            m.id.label("meter_id"),
            m.currency_id,
            cur.decimals,
            a.balance,
            a.debt,
            a.last_sequence,
            held.label("held"),
            g.id.label("grant_id"),
            g.amount,
            g.remaining,
            g.category,
            g.priority,
            g.effective_at,
            g.expires_at,
            g.status,
        )
        .select_from(customers)
        .join(meters, owned(meters, tenant))
        .join(currencies, cur.id == m.currency_id)
        .outerjoin(credit_accounts, and_(a.customer_id == k.id, a.currency_id == m.currency_id))
        .outerjoin(credit_grants, and_(g.account_id == a.id, g.status.in_(OPEN_STATUSES)))
        .where(
            owned(customers, tenant),
            k.deleted_at.is_(None),
            k.id == customer_id if customer_id is not None else k.external_id == external_id,
            m.id == meter_id if meter_id is not None else m.event_name == event_name,
        )
    )
    return list(conn.execute(query))


# -- holds (DESIGN rule 17) ---------------------------------------------------------------


def insert_hold(conn: Connection, account: AccountRow, values: dict[str, Any]) -> None:
    conn.execute(
        insert(credit_holds).values(
            organization_id=account.organization_id,
            mode=account.mode,
            customer_id=account.customer_id,
            currency_id=account.currency_id,
            account_id=account.id,
            **values,
        )
    )


def hold_list_query(
    tenant: Tenant,
    *,
    customer_id: uuid.UUID | None,
    statuses: Sequence[str] | None,
    now: datetime | None = None,
) -> Select[Any]:
    """Holds with their currency's decimals. A status filter reads statuses at ``now``: an
    active hold past expires_at is expired before the clock books it."""
    query = select_owned(tenant, credit_holds, credit_holds, currencies.c.decimals).join(
        currencies, currencies.c.id == h.currency_id
    )
    if customer_id is not None:
        query = query.where(h.customer_id == customer_id)
    if statuses is not None:
        assert now is not None
        query = query.where(or_(*(_hold_status_is(status, now) for status in statuses)))
    return query


def _hold_status_is(status: str, now: datetime) -> Any:
    if status == "active":
        return and_(h.status == "active", h.expires_at > now)
    if status == "expired":
        return or_(h.status == "expired", and_(h.status == "active", h.expires_at <= now))
    return h.status == status


def get_hold(conn: Connection, tenant: Tenant, hold_id: uuid.UUID) -> Any:
    query = hold_list_query(tenant, customer_id=None, statuses=None).where(h.id == hold_id)
    return conn.execute(query).one_or_none()


def open_accounts_of_customer(
    conn: Connection, tenant: Tenant, customer_id: uuid.UUID
) -> list[AccountKey]:
    """The accounts (customer, currency) of a customer that have open grants or holds."""
    grants_open = select_owned(tenant, credit_grants, g.customer_id, g.currency_id).where(
        g.customer_id == customer_id, g.status.in_(OPEN_STATUSES)
    )
    holds_open = select_owned(tenant, credit_holds, h.customer_id, h.currency_id).where(
        h.customer_id == customer_id, h.status == "active"
    )
    rows = conn.execute(union(grants_open, holds_open))
    return sorted((row[0], row[1]) for row in rows)
