"""All SQL of the credits domain."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    func,
    insert,
    not_,
    or_,
    select,
    union,
)

from drawdown.credits.book import NO_GRACE, OPEN_STATUSES, Book, EntryDraft, GrantState, HoldState
from drawdown.credits.records import AccountKey, AccountRecord, EntryRecord, GrantRecord
from drawdown.db.paging import fetch_page
from drawdown.db.portable import (
    DriverSql,
    as_uuid,
    copy_tuples,
    for_update,
    insert_ignoring_duplicates,
    update_rows,
    uuid_key,
)
from drawdown.db.scope import (
    OWNED_SQL,
    every_tenant,
    owned,
    owned_params,
    owned_sql,
    select_owned,
    update_owned,
)
from drawdown.db.tables import (
    credit_accounts,
    credit_grants,
    credit_holds,
    currencies,
    customers,
    events,
    ledger_entries,
    meters,
)
from drawdown.db.types import from_micros
from drawdown.ids import new_id
from drawdown.ops import metrics
from drawdown.paging import PageRequest, Slice
from drawdown.tenancy import Tenant

__all__ = [
    "AccessRows",
    "EntryFilter",
    "GrantFilter",
    "access_rows",
    "account_labels",
    "accounts_by_id",
    "accounts_of_customers",
    "active_hold_count",
    "customers_with_debt",
    "due_account_ids",
    "due_accounts_among",
    "ensure_accounts",
    "entries_for_events",
    "entries_page",
    "entry_total",
    "expiring_grants",
    "flush_books",
    "get_entry",
    "get_grant",
    "get_hold",
    "grant_sums",
    "granted_totals",
    "grants_by_id",
    "grants_page",
    "held_by_account",
    "hold_list_query",
    "holds_page",
    "insert_hold",
    "later_debt",
    "load_books",
    "lock_accounts",
    "lock_due_accounts",
    "open_accounts_of_customer",
    "update_grant_metadata",
    "usage_by_meter",
]

a = credit_accounts.c
g = credit_grants.c
e = ledger_entries.c
h = credit_holds.c


@dataclass(frozen=True, slots=True)
class GrantFilter:
    customer_id: uuid.UUID | None = None
    currency_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class GrantStatusAt:
    """Grants whose status reads as ``status`` at ``now``: stored with it and not due for
    the clock, or among ``due_ids`` (the due grants that the read model projected to it)."""

    status: str
    now: datetime
    due_ids: frozenset[uuid.UUID]


@dataclass(frozen=True, slots=True)
class EntryFilter:
    customer_id: uuid.UUID | None = None
    currency_id: uuid.UUID | None = None
    grant_id: uuid.UUID | None = None
    event_id: uuid.UUID | None = None
    types: tuple[str, ...] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    # Only entries of events with this name.
    event_name: str | None = None


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


_LOCK_ACCOUNTS = DriverSql(
    "SELECT id, customer_id, currency_id, balance, debt, last_sequence FROM credit_accounts"
    f" WHERE {OWNED_SQL} AND customer_id IN (:customer_ids...)"
    " AND currency_id IN (:currency_ids...) ORDER BY id"
)


def lock_accounts(
    conn: Connection, tenant: Tenant, keys: Iterable[AccountKey], *, skip_locked: bool = False
) -> list[AccountRecord]:
    """Lock the existing accounts among ``keys``, always in id order so concurrent batches
    cannot deadlock. On SQLite the transaction already holds the database's write
    lock (BEGIN IMMEDIATE). One statement of fixed text whatever the batch, at driver level
    (every ingest batch runs it over hundreds of accounts)."""
    wanted = set(keys)
    if not wanted:
        return []
    customer_ids = {uuid_key(conn, customer): customer for customer, _ in wanted}
    currency_ids = {uuid_key(conn, currency): currency for _, currency in wanted}
    params = owned_params(tenant) | {
        "customer_ids": sorted(customer_ids.values()),
        "currency_ids": sorted(currency_ids.values()),
    }
    lock = "FOR UPDATE SKIP LOCKED" if skip_locked else "FOR UPDATE"
    # The query may also lock a customer's account in another currency of the batch: harmless.
    accounts = []
    for row in _LOCK_ACCOUNTS.run(conn, params, lock=lock):
        key = (customer_ids[row[1]], currency_ids[row[2]])
        if key in wanted:
            accounts.append(
                AccountRecord(
                    as_uuid(row[0]),
                    tenant.organization_id,
                    tenant.mode,
                    key[0],
                    key[1],
                    row[3],
                    row[4],
                    row[5],
                )
            )
    return accounts


def lock_due_accounts(
    conn: Connection, account_ids: Sequence[uuid.UUID], *, skip_locked: bool = False
) -> list[AccountRecord]:
    """Lock accounts of any tenant by id (the background clock's pass), in id order."""
    query = every_tenant(
        select(credit_accounts).where(a.id.in_(sorted(account_ids))).order_by(a.id)
    )
    return [
        AccountRecord.of(row)
        for row in conn.execute(for_update(conn, query, skip_locked=skip_locked))
    ]


_OPEN_GRANTS = DriverSql(
    "SELECT account_id, id, amount, remaining, category, priority, effective_at, expires_at,"
    " status, booked_at, closed_at FROM credit_grants"
    " WHERE account_id IN (:account_ids...) AND status IN ('pending', 'active')"
)


def _at(micros: int | None) -> datetime | None:
    return None if micros is None else from_micros(micros)


def load_books(
    conn: Connection, accounts: Iterable[AccountRecord], *, with_holds: bool = False
) -> dict[uuid.UUID, Book]:
    """Each account with its open (pending or active) grants, in one query; with its
    active holds too (a second query) when ``with_holds``."""
    books = {row.id: Book(row.balance, row.debt, row.last_sequence, grants={}) for row in accounts}
    if not books:
        return books
    by_key = {uuid_key(conn, account_id): book for account_id, book in books.items()}
    for row in _OPEN_GRANTS.run(conn, {"account_ids": list(books)}):
        grant_id = as_uuid(row[1])
        by_key[row[0]].grants[grant_id] = GrantState(
            grant_id,
            row[2],
            row[3],
            row[4],
            row[5],
            from_micros(row[6]),
            _at(row[7]),
            row[8],
            _at(row[9]),
            _at(row[10]),
        )
    if with_holds:
        _load_holds(conn, books)
    return books


def _load_holds(conn: Connection, books: dict[uuid.UUID, Book]) -> None:
    holds: dict[uuid.UUID, dict[uuid.UUID, HoldState]] = {account_id: {} for account_id in books}
    rows = conn.execute(
        select(h.id, h.account_id, h.amount, h.expires_at, h.status, h.metadata_).where(
            h.account_id.in_(list(books)), h.status == "active"
        )
    )
    for row in rows:
        holds[row.account_id][row.id] = HoldState(
            row.id, row.amount, row.expires_at, row.status, metadata=row.metadata_
        )
    for account_id, book in books.items():
        book.holds = holds[account_id]


def flush_books(
    conn: Connection,
    pairs: Sequence[tuple[AccountRecord, Book]],
    now: datetime,
    new_grant_values: dict[uuid.UUID, dict[str, Any]] | None = None,
) -> None:
    """Write what each book changed (new grants, grant updates, entries, the account), one
    multi-row statement per kind of write for the whole batch."""
    new_grant_values = new_grant_values or {}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    entries: list[tuple[Any, ...]] = []
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
    copy_tuples(conn, ledger_entries, _ENTRY_COLUMNS, entries)
    _update_by_id(conn, credit_accounts, accounts)
    _update_by_id(
        conn, credit_holds, [row for _, book in pairs for row in _hold_updates(book, now)]
    )
    if metrics.enabled():
        _count_writes(inserts, updates, entries, now)


def _count_writes(
    inserts: Sequence[dict[str, Any]],
    updates: Sequence[dict[str, Any]],
    entries: Sequence[tuple[Any, ...]],
    now: datetime,
) -> None:
    """Ledger entries by type and grants by what happened to them in this flush."""
    actions = ["created"] * len(inserts)
    for row in updates:
        if row["closed_at"] == now:
            actions.append(row["status"])  # depleted, expired or voided just now
        elif row["status"] == "active" and row["booked_at"] == now:
            actions.append("activated")
    metrics.count_ledger_writes([entry[_ENTRY_TYPE] for entry in entries], actions)


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
    """One UPDATE of fixed text of the columns in ``rows`` (keyed by ``b_id``)."""
    if not rows:
        return
    columns = [name for name in rows[0] if name != "b_id"]
    update_rows(conn, table, columns, [(row["b_id"], *(row[n] for n in columns)) for row in rows])


def _new_grant_row(
    grant: GrantState,
    account: AccountRecord,
    now: datetime,
    extra: dict[uuid.UUID, dict[str, Any]],
) -> dict[str, Any]:
    values: dict[str, Any] = {
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


_ENTRY_COLUMNS = (
    "id",
    "organization_id",
    "mode",
    "account_id",
    "customer_id",
    "currency_id",
    "sequence",
    "type",
    "amount",
    "balance_after",
    "grant_id",
    "event_id",
    "reason",
    "created_at",
)
_ENTRY_TYPE = _ENTRY_COLUMNS.index("type")


def _entry_row(entry: EntryDraft, account: AccountRecord, now: datetime) -> tuple[Any, ...]:
    return (
        new_id(),
        account.organization_id,
        account.mode,
        account.id,
        account.customer_id,
        account.currency_id,
        entry.sequence,
        entry.type,
        entry.amount,
        entry.balance_after,
        entry.grant_id,
        entry.event_id,
        entry.reason,
        now,
    )


def _grants(tenant: Tenant) -> Select[Any]:
    return select_owned(tenant, credit_grants, credit_grants, currencies.c.decimals).join(
        currencies, currencies.c.id == g.currency_id
    )


def get_grant(conn: Connection, tenant: Tenant, grant_id: uuid.UUID) -> GrantRecord | None:
    row = conn.execute(_grants(tenant).where(g.id == grant_id)).one_or_none()
    return None if row is None else GrantRecord.of(row)


def grants_by_id(
    conn: Connection, tenant: Tenant, grant_ids: Iterable[uuid.UUID]
) -> list[GrantRecord]:
    ids = sorted(set(grant_ids))
    if not ids:
        return []
    return [GrantRecord.of(row) for row in conn.execute(_grants(tenant).where(g.id.in_(ids)))]


def _due(now: datetime) -> ColumnElement[bool]:
    """Open grants the clock has to book at ``now`` (an activation or an expiry)."""
    # expires_at IS NOT NULL keeps the condition two-valued, so NOT (...) is exact.
    return or_(
        and_(g.status == "pending", g.effective_at <= now),
        and_(g.status.in_(OPEN_STATUSES), g.expires_at.is_not(None), g.expires_at <= now),
    )


def _filtered(query: Select[Any], filters: GrantFilter) -> Select[Any]:
    if filters.customer_id is not None:
        query = query.where(g.customer_id == filters.customer_id)
    if filters.currency_id is not None:
        query = query.where(g.currency_id == filters.currency_id)
    return query


def grants_page(
    conn: Connection,
    tenant: Tenant,
    filters: GrantFilter,
    page: PageRequest,
    status: GrantStatusAt | None = None,
) -> Slice[GrantRecord]:
    """A page of grants, newest first; with ``status``, filtered in the query by the
    status each grant reads as at that instant (see GrantStatusAt)."""
    query = _grants(tenant)
    query = _filtered(query, filters)
    if status is not None:
        settled = and_(g.status == status.status, not_(_due(status.now)))
        due = g.id.in_(sorted(status.due_ids)) if status.due_ids else None
        query = query.where(settled if due is None else or_(settled, due))
    return fetch_page(conn, query, g.id, page, GrantRecord.of)


def grant_sums(
    conn: Connection, tenant: Tenant, filters: GrantFilter, status: GrantStatusAt
) -> list[tuple[uuid.UUID, int, int, int]]:
    """Per currency, over the grants stored with ``status.status`` and not due for the
    clock: (currency_id, sum of amount, sum of remaining, count)."""
    query = select_owned(
        tenant,
        credit_grants,
        g.currency_id,
        func.sum(g.amount),
        func.sum(g.remaining),
        func.count(),
    ).where(g.status == status.status, not_(_due(status.now)))
    query = _filtered(query, filters)
    rows = conn.execute(query.group_by(g.currency_id))
    return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]


def due_accounts_among(
    conn: Connection, tenant: Tenant, filters: GrantFilter, now: datetime
) -> list[uuid.UUID]:
    """The tenant's accounts (within ``filters``) holding a grant the clock has not yet
    booked at ``now``: few, as the clock keeps up; reads project them in memory."""
    query = select_owned(tenant, credit_grants, g.account_id).where(_due(now))
    query = _filtered(query, filters)
    return list(conn.execute(query.distinct()).scalars())


def _entries(tenant: Tenant, filters: EntryFilter) -> Select[Any]:
    query = select_owned(tenant, ledger_entries, ledger_entries, currencies.c.decimals).join(
        currencies, currencies.c.id == e.currency_id
    )
    for name in ("customer_id", "currency_id", "grant_id", "event_id"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(e[name] == value)
    if filters.types is not None:
        query = query.where(e.type.in_(list(filters.types)))
    if filters.created_from is not None:
        query = query.where(e.created_at >= filters.created_from)
    if filters.created_to is not None:
        query = query.where(e.created_at < filters.created_to)
    if filters.event_name is not None:
        named = select_owned(tenant, events, events.c.id).where(events.c.name == filters.event_name)
        query = query.where(e.event_id.in_(named))
    return query


def entries_page(
    conn: Connection, tenant: Tenant, filters: EntryFilter, page: PageRequest
) -> Slice[EntryRecord]:
    return fetch_page(conn, _entries(tenant, filters), e.id, page, EntryRecord.of)


def entry_total(conn: Connection, tenant: Tenant, filters: EntryFilter) -> tuple[int, int]:
    """(the sum of ``amount``, the number of entries) over the entries ``filters`` select."""
    sub = _entries(tenant, filters).subquery()
    row = conn.execute(select(func.coalesce(func.sum(sub.c.amount), 0), func.count())).one()
    return int(row[0]), int(row[1])


def usage_by_meter(
    conn: Connection, tenant: Tenant, filters: EntryFilter
) -> list[tuple[str | None, int, int, int]]:
    """Over the entries ``filters`` select, grouped by the meter of each entry's event
    (by name): (the meter's rate or None, the currency's decimals, the sum of the amounts'
    absolute values, the number of entries). One query."""
    sub = _entries(tenant, filters).subquery()
    m = meters.c
    query = (
        select(m.rate, sub.c.decimals, func.sum(func.abs(sub.c.amount)), func.count())
        .select_from(
            sub.outerjoin(events, events.c.id == sub.c.event_id).outerjoin(
                meters, and_(owned(meters, tenant), m.event_name == events.c.name)
            )
        )
        .group_by(m.id, m.rate, sub.c.decimals)
    )
    return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in conn.execute(query)]


def get_entry(conn: Connection, tenant: Tenant, entry_id: uuid.UUID) -> EntryRecord | None:
    row = conn.execute(_entries(tenant, EntryFilter()).where(e.id == entry_id)).one_or_none()
    return None if row is None else EntryRecord.of(row)


def entries_for_events(
    conn: Connection, tenant: Tenant, event_ids: Iterable[uuid.UUID]
) -> list[EntryRecord]:
    """Every entry of these events, in ledger order: one query."""
    ids = sorted(set(event_ids))
    if not ids:
        return []
    query = _entries(tenant, EntryFilter()).where(e.event_id.in_(ids)).order_by(e.sequence)
    return [EntryRecord.of(row) for row in conn.execute(query)]


def later_debt(
    conn: Connection, tenant: Tenant, debt_entry_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """For each debt entry, the debt booked on its account after it (positive units):
    one query, a correlated sum per entry asked for."""
    ids = sorted(set(debt_entry_ids))
    if not ids:
        return {}
    later = ledger_entries.alias("later")
    newer = (
        select(func.coalesce(-func.sum(later.c.amount), 0))
        .where(
            later.c.account_id == e.account_id,
            later.c.type == "debt",
            later.c.sequence > e.sequence,
        )
        .scalar_subquery()
    )
    query = select_owned(tenant, ledger_entries, e.id, newer).where(e.id.in_(ids))
    return {row[0]: int(row[1]) for row in conn.execute(query)}


def accounts_of_customers(
    conn: Connection, tenant: Tenant, customer_ids: Iterable[uuid.UUID]
) -> list[AccountRecord]:
    """The accounts of these customers (with their currency's decimals), in one query."""
    ids = sorted(set(customer_ids))
    if not ids:
        return []
    query = (
        select_owned(tenant, credit_accounts, credit_accounts, currencies.c.decimals)
        .join(currencies, currencies.c.id == a.currency_id)
        .where(a.customer_id.in_(ids))
        .order_by(a.id)
    )
    return [AccountRecord.of(row) for row in conn.execute(query)]


def customers_with_debt(
    conn: Connection, tenant: Tenant, currency_id: uuid.UUID | None
) -> list[uuid.UUID]:
    """Customers whose stored debt is positive (a read may find some of it settled)."""
    query = select_owned(tenant, credit_accounts, a.customer_id).where(a.debt > 0)
    if currency_id is not None:
        query = query.where(a.currency_id == currency_id)
    return list(conn.execute(query.distinct()).scalars())


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


def accounts_by_id(
    conn: Connection, tenant: Tenant, account_ids: Iterable[uuid.UUID]
) -> list[AccountRecord]:
    query = select_owned(tenant, credit_accounts).where(a.id.in_(sorted(set(account_ids))))
    return [AccountRecord.of(row) for row in conn.execute(query.order_by(a.id))]


def update_grant_metadata(
    conn: Connection, tenant: Tenant, grant_id: uuid.UUID, metadata: dict[str, Any], now: datetime
) -> None:
    conn.execute(
        update_owned(tenant, credit_grants)
        .where(g.id == grant_id)
        .values(metadata_=metadata, updated_at=now)
    )


@dataclass(frozen=True, slots=True)
class AccessRows:
    """What an access check reads: the customer, the meter and its currency, the account
    (zeros when the customer has none yet), what its holds reserve, its open grants."""

    customer_id: uuid.UUID
    meter_id: uuid.UUID
    currency_id: uuid.UUID
    decimals: int
    balance: int
    debt: int
    last_sequence: int
    held: int
    grants: list[GrantState]


def _access_sql(by_customer_id: bool, by_meter_id: bool) -> DriverSql:
    customer = "k.id = :customer" if by_customer_id else "k.external_id = :customer"
    meter = "m.id = :meter" if by_meter_id else "m.event_name = :meter"
    return DriverSql(
        "SELECT k.id, m.id, m.currency_id, cur.decimals, a.balance, a.debt, a.last_sequence,"
        " (SELECT coalesce(sum(h.amount), 0) FROM credit_holds h WHERE h.account_id = a.id"
        " AND h.status = 'active' AND h.expires_at > :now),"
        " g.id, g.amount, g.remaining, g.category, g.priority, g.effective_at, g.expires_at,"
        " g.status"
        f" FROM customers k JOIN meters m ON {owned_sql('m')}"
        " JOIN currencies cur ON cur.id = m.currency_id"
        " LEFT JOIN credit_accounts a ON a.customer_id = k.id AND a.currency_id = m.currency_id"
        " LEFT JOIN credit_grants g ON g.account_id = a.id AND g.status IN ('pending', 'active')"
        f" WHERE {owned_sql('k')} AND k.deleted_at IS NULL AND {customer} AND {meter}"
    )


# Prebuilt: by customer id or external id, by meter id or event name.
_ACCESS = {(c, m): _access_sql(c, m) for c in (True, False) for m in (True, False)}


def access_rows(
    conn: Connection,
    tenant: Tenant,
    customer: tuple[uuid.UUID | None, str | None],
    meter: tuple[uuid.UUID | None, str | None],
    now: datetime,
) -> AccessRows | None:
    """Everything an access check reads, in one round trip of one prebuilt statement: the
    live customer (by id or external id), the meter (by id or event_name) with its
    currency's decimals, the customer's account in that currency, what its holds reserve
    at ``now``, and its open grants. None when the customer or the meter does not exist."""
    customer_id, external_id = customer
    meter_id, event_name = meter
    statement = _ACCESS[(customer_id is not None, meter_id is not None)]
    params = owned_params(tenant) | {
        "customer": customer_id if customer_id is not None else external_id,
        "meter": meter_id if meter_id is not None else event_name,
        "now": now,
    }
    rows = statement.run(conn, params).all()
    if not rows:
        return None
    first = rows[0]
    grants = [
        GrantState(
            as_uuid(row[8]),
            row[9],
            row[10],
            row[11],
            row[12],
            from_micros(row[13]),
            _at(row[14]),
            row[15],
        )
        for row in rows
        if row[8] is not None
    ]
    return AccessRows(
        as_uuid(first[0]),
        as_uuid(first[1]),
        as_uuid(first[2]),
        first[3],
        first[4] or 0,
        first[5] or 0,
        first[6] or 0,
        int(first[7] or 0),
        grants,
    )


def _held_at(now: datetime) -> Any:
    """What an account's holds reserve at ``now`` (active, not past expires_at)."""
    return (
        select(func.coalesce(func.sum(h.amount), 0))
        .where(h.account_id == a.id, h.status == "active", h.expires_at > now)
        .scalar_subquery()
    )


def account_labels(
    conn: Connection, account_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, Any]:
    """Per account: its customer's external_id, its currency's decimals and what its holds
    reserve at ``now`` (one query), to render the events a transaction emits. The accounts
    are the ones the caller has locked (the clock's may belong to several tenants)."""
    if not account_ids:
        return {}
    query = (
        select(a.id, customers.c.external_id, currencies.c.decimals, _held_at(now).label("held"))
        .join(customers, customers.c.id == a.customer_id)
        .join(currencies, currencies.c.id == a.currency_id)
        .where(a.id.in_(sorted(set(account_ids))))
    )
    return {row.id: row for row in conn.execute(every_tenant(query))}


def expiring_grants(
    conn: Connection, tenant: Tenant, since: datetime, until: datetime, limit: int
) -> list[GrantRecord]:
    """Open grants with credits left whose expires_at is in [since, until), soonest first."""
    query = (
        _grants(tenant)
        .where(g.status.in_(OPEN_STATUSES), g.remaining > 0)
        .where(g.expires_at >= since, g.expires_at < until)
        .order_by(g.expires_at, g.id)
        .limit(limit)
    )
    return [GrantRecord.of(row) for row in conn.execute(query)]


def granted_totals(
    conn: Connection, tenant: Tenant, currency_id: uuid.UUID, customer_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Base units granted to each customer in one currency (voided grants left out)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    query = (
        select_owned(tenant, credit_grants, g.customer_id, func.sum(g.amount))
        .where(g.currency_id == currency_id, g.customer_id.in_(ids), g.status != "voided")
        .group_by(g.customer_id)
    )
    return {row[0]: int(row[1] or 0) for row in conn.execute(query)}


def oldest_due_at(conn: Connection, now: datetime) -> datetime | None:
    """The earliest activation or expiry that has come due and is not booked yet (every
    tenant): how far the clock is behind."""
    activation = every_tenant(
        select(func.min(g.effective_at)).where(g.status == "pending", g.effective_at <= now)
    )
    expiry = every_tenant(
        select(func.min(g.expires_at)).where(g.status.in_(OPEN_STATUSES), g.expires_at <= now)
    )
    found = [conn.execute(activation).scalar(), conn.execute(expiry).scalar()]
    due = [value for value in found if value is not None]
    return min(due) if due else None


# -- holds ---------------------------------------------------------------------------------


def insert_hold(conn: Connection, account: AccountRecord, values: dict[str, Any]) -> None:
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


def active_hold_count(conn: Connection, tenant: Tenant, now: datetime) -> int:
    """How many of the tenant's holds reserve credits at ``now``."""
    query = select_owned(tenant, credit_holds, func.count()).where(
        h.status == "active", h.expires_at > now
    )
    return int(conn.execute(query).scalar_one())


def holds_page(
    conn: Connection,
    tenant: Tenant,
    customer_id: uuid.UUID | None,
    statuses: Sequence[str] | None,
    now: datetime,
    page: PageRequest,
) -> Slice[Any]:
    query = hold_list_query(tenant, customer_id=customer_id, statuses=statuses, now=now)
    return fetch_page(conn, query, h.id, page, lambda row: row)


def held_by_account(
    conn: Connection, account_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, int]:
    """What active holds (not past expires_at) reserve on each of these locked accounts."""
    query = (
        select(h.account_id, func.sum(h.amount))
        .where(h.account_id.in_(sorted(set(account_ids))))
        .where(h.status == "active", h.expires_at > now)
        .group_by(h.account_id)
    )
    return {row[0]: int(row[1] or 0) for row in conn.execute(query)}
