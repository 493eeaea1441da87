"""Credit rules: grants (create, void, expire), balances and access checks, the ledger.

Every read of a balance or a grant runs the same in-memory clock as the writers
(Book.catch_up), so a grant past its expires_at reads as expired and a due grant reads as
active (having paid debt first) before the background clock books either."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from drawdown.config import DEFAULT_EXPIRY_GRACE
from drawdown.credits import read, store
from drawdown.credits.book import Book, GrantState, HoldState
from drawdown.credits.read import AccountBalance
from drawdown.credits.records import EntryRecord, GrantRecord
from drawdown.credits.schemas import AccessOut, BalanceOut, GrantCreate, GrantOut, LedgerEntryOut
from drawdown.credits.work import CreditWork
from drawdown.currencies import service as currencies
from drawdown.customers.service import (
    get_customer,
    get_customer_by_external_id,
    resolve_customer,
)
from drawdown.errors import ConflictError, NotFoundError, field
from drawdown.ids import new_id, parse_id, render_id
from drawdown.meters import service as meters
from drawdown.money import AmountError, format_units, parse_amount
from drawdown.records import CustomerRecord
from drawdown.tenancy import Tenant

_NEVER = datetime.max.replace(tzinfo=UTC)

__all__ = [
    "AccountBalance",
    "access",
    "access_for",
    "account_balances",
    "balances",
    "create_grant",
    "currency_of",
    "expire_grant",
    "get_entry",
    "get_grant",
    "project_grants",
    "render_entry",
    "render_grant",
    "update_grant_metadata",
    "void_grant",
]


def _currency_for(conn: Connection, tenant: Tenant, body: GrantCreate) -> tuple[uuid.UUID, int]:
    return currency_of(conn, tenant, body.currency_id, body.meter_id)


def currency_of(
    conn: Connection, tenant: Tenant, currency_id: str | None, meter_id: str | None
) -> tuple[uuid.UUID, int]:
    """The currency (id, decimals) a request names directly or through a meter."""
    if (currency_id is None) == (meter_id is None):
        raise field("currency_id", "give exactly one of currency_id or meter_id")
    if currency_id is not None:
        try:
            currency = currencies.get_currency(conn, tenant, currency_id)
        except NotFoundError:
            raise field("currency_id", f"no currency {currency_id}") from None
    else:
        meter = _meter(conn, tenant, meter_id or "", ["meter_id"])
        currency = currencies.get_currency(conn, tenant, render_id("currency", meter.currency_id))
    return currency.id, currency.decimals


def _meter(conn: Connection, tenant: Tenant, ref: str, loc: list[str | int]) -> Any:
    """A meter named in a request (id or event_name); an unknown one is a 422 at ``loc``."""
    try:
        return meters.get_meter(conn, tenant, ref)
    except NotFoundError:
        raise field(loc, f"no meter {ref!r}") from None


def _check_times(body: GrantCreate, now: datetime) -> datetime:
    effective_at = body.effective_at or now
    if body.expires_at is not None:
        # The past first: with no effective_at sent, "after effective_at" would name a
        # field the caller never set.
        if body.expires_at <= now:
            raise field("expires_at", "is already in the past")
        if body.expires_at <= effective_at:
            raise field("expires_at", "must be after effective_at")
    return effective_at


def create_grant(
    conn: Connection,
    tenant: Tenant,
    body: GrantCreate,
    now: datetime,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> GrantRecord:
    customer = resolve_customer(conn, tenant, body.customer_id, body.external_customer_id)
    currency_id, decimals = _currency_for(conn, tenant, body)
    try:
        units = parse_amount(body.amount, decimals)
    except AmountError as exc:
        raise field("amount", str(exc)) from None
    if units == 0:
        raise field("amount", "must be greater than zero")
    effective_at = _check_times(body, now)
    grant = GrantState(
        id=new_id(),
        amount=units,
        remaining=units,
        category=body.category,
        priority=body.priority,
        effective_at=effective_at,
        expires_at=body.expires_at,
        status="pending",
    )
    work = CreditWork.open(conn, tenant, [(customer.id, currency_id)], now, grace=grace)
    work.add_grant((customer.id, currency_id), grant, name=body.name, metadata_=body.metadata)
    work.finish()
    return _stored_grant(conn, tenant, grant.id)


def _stored_grant(conn: Connection, tenant: Tenant, grant_id: uuid.UUID) -> GrantRecord:
    record = store.get_grant(conn, tenant, grant_id)
    assert record is not None
    return record


def _grant_id(grant_ref: str) -> uuid.UUID:
    parsed = parse_id("credit_grant", grant_ref)
    if parsed is None:
        raise NotFoundError(f"No credit grant {grant_ref}")
    return parsed


def get_grant(conn: Connection, tenant: Tenant, grant_ref: str, now: datetime) -> GrantRecord:
    """The grant as of ``now`` (expired from expires_at on, booked or not)."""
    record = read.grant(conn, tenant, _grant_id(grant_ref), now)
    if record is None:
        raise NotFoundError(f"No credit grant {grant_ref}")
    return record


def _close_grant(
    conn: Connection,
    tenant: Tenant,
    grant_ref: str,
    now: datetime,
    action: str,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> GrantRecord:
    row = store.get_grant(conn, tenant, _grant_id(grant_ref))
    if row is None:
        raise NotFoundError(f"No credit grant {grant_ref}")
    work = CreditWork.open(conn, tenant, [(row.customer_id, row.currency_id)], now, grace=grace)
    book = work.book(row.customer_id, row.currency_id)
    state = book.grants.get(row.id)
    if state is not None and state.expires_at is not None and state.expires_at <= now:
        status = "expired"  # in its expiry grace: it reads as expired
    else:
        status = state.status if state is not None else row.status
    if status not in ("pending", "active"):
        raise ConflictError(f"Credit grant is {status}; it cannot be {action}", code="grant_closed")
    assert state is not None
    if action == "voided":
        book.void(state, now)
    else:
        if state.expires_at is None or state.expires_at > now:
            state.expires_at = now
        book.expire(state, now)
    work.finish()
    return _stored_grant(conn, tenant, row.id)


def void_grant(
    conn: Connection,
    tenant: Tenant,
    grant_ref: str,
    now: datetime,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> GrantRecord:
    """Void: what remains leaves the account with a ``void`` entry (the ledger keeps everything)."""
    return _close_grant(conn, tenant, grant_ref, now, "voided", grace)


def expire_grant(
    conn: Connection,
    tenant: Tenant,
    grant_ref: str,
    now: datetime,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> GrantRecord:
    """Expire now: what remains leaves with an ``expiration`` entry."""
    return _close_grant(conn, tenant, grant_ref, now, "expired", grace)


def project_grants(
    conn: Connection, tenant: Tenant, records: Sequence[GrantRecord], now: datetime
) -> list[GrantRecord]:
    """``records`` as of ``now`` (drawdown.credits.read.project)."""
    return read.project(conn, tenant, records, now)


def render_grant(record: GrantRecord) -> GrantOut:
    decimals = record.decimals
    source = record.source_event_id
    return GrantOut(
        id=render_id("credit_grant", record.id),
        customer_id=record.customer_id,
        currency_id=render_id("currency", record.currency_id),
        amount=format_units(record.amount, decimals),
        remaining=format_units(record.remaining, decimals),
        category=record.category,
        priority=record.priority,
        effective_at=record.effective_at,
        expires_at=record.expires_at,
        status=record.status,
        name=record.name,
        metadata=record.metadata,
        source_event_id=render_id("event", source) if source else None,
        livemode=record.mode == "live",
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def render_entry(row: EntryRecord) -> LedgerEntryOut:
    return LedgerEntryOut(
        id=render_id("ledger_entry", row.id),
        customer_id=row.customer_id,
        currency_id=render_id("currency", row.currency_id),
        sequence=row.sequence,
        type=row.type,
        amount=format_units(row.amount, row.decimals),
        balance_after=format_units(row.balance_after, row.decimals),
        grant_id=render_id("credit_grant", row.grant_id) if row.grant_id else None,
        event_id=render_id("event", row.event_id) if row.event_id else None,
        reason=row.reason,
        livemode=row.mode == "live",
        created_at=row.created_at,
    )


def get_entry(conn: Connection, tenant: Tenant, entry_ref: str) -> EntryRecord:
    parsed = parse_id("ledger_entry", entry_ref)
    row = None if parsed is None else store.get_entry(conn, tenant, parsed)
    if row is None:
        raise NotFoundError(f"No credit transaction {entry_ref}")
    return row


def account_balances(
    conn: Connection, tenant: Tenant, customer: CustomerRecord, now: datetime
) -> list[AccountBalance]:
    """The customer's balance in each currency it has an account in, exact at ``now``."""
    return read.balances(conn, tenant, [customer.id], now)[customer.id]


def render_balance(balance: AccountBalance) -> BalanceOut:
    decimals = balance.decimals
    return BalanceOut(
        currency_id=render_id("currency", balance.currency_id),
        available=format_units(balance.available, decimals),
        debt=format_units(balance.debt, decimals),
        held=format_units(balance.held, decimals),
        pending=format_units(balance.pending, decimals),
        next_expiry_at=balance.next_expiry_at,
        next_expiry_amount=(
            format_units(balance.next_expiry, decimals) if balance.next_expiry_at else None
        ),
    )


def balances(
    conn: Connection, tenant: Tenant, customer: CustomerRecord, now: datetime
) -> list[BalanceOut]:
    return [render_balance(b) for b in account_balances(conn, tenant, customer, now)]


def access(
    conn: Connection,
    tenant: Tenant,
    customer: tuple[str | None, str | None],
    meter_ref: str,
    now: datetime,
) -> AccessOut:
    """May this customer (``(id, None)`` or ``(None, external_id)``) use this meter now?
    True while credits are available. One query; the exact state at ``now``."""
    customer_id, external_id = customer
    customer_uuid = parse_id("customer", customer_id) if customer_id is not None else None
    meter_uuid = parse_id("meter", meter_ref) if meter_ref.startswith("mtr_") else None
    found = None
    if customer_id is None or customer_uuid is not None:
        found = store.access_rows(
            conn,
            tenant,
            (customer_uuid, external_id),
            (meter_uuid, None if meter_uuid else meter_ref),
            now,
        )
    if found is None:  # say precisely which one is missing
        if customer_id is not None:
            get_customer(conn, tenant, customer_id)
        else:
            get_customer_by_external_id(conn, tenant, external_id or "")
        _meter(conn, tenant, meter_ref, ["meter"])
        raise AssertionError("access_rows found nothing for an existing customer and meter")
    book = Book(found.balance, found.debt, found.last_sequence, grants={})
    # What holds reserve now, summed by the query; one stand-in hold carries it.
    book.holds = {}
    if found.held:
        book.holds[found.customer_id] = HoldState(found.customer_id, found.held, _NEVER)
    for grant in found.grants:
        book.grants[grant.id] = grant
    book.catch_up(now)
    return _access_out(found.customer_id, found.meter_id, found.currency_id, found.decimals, book)


def _access_out(
    customer_id: uuid.UUID, meter_id: uuid.UUID, currency_id: uuid.UUID, decimals: int, book: Book
) -> AccessOut:
    available = book.available()
    return AccessOut(
        customer_id=customer_id,
        meter_id=render_id("meter", meter_id),
        currency_id=render_id("currency", currency_id),
        has_access=available > 0,
        available=format_units(available, decimals),
        debt=format_units(book.debt, decimals),
        held=format_units(book.held(), decimals),
    )


def access_for(
    conn: Connection, tenant: Tenant, customer: CustomerRecord, meter_ref: str, now: datetime
) -> AccessOut:
    """The access check for a customer row already in hand."""
    return access(conn, tenant, (render_id("customer", customer.id), None), meter_ref, now)


def update_grant_metadata(
    conn: Connection, tenant: Tenant, grant_ref: str, metadata: dict[str, Any], now: datetime
) -> GrantRecord:
    """Replace a grant's metadata (any status): labels only, so no entry is written and no
    amount, time or status changes. The grant comes back as of ``now``."""
    grant_id = get_grant(conn, tenant, grant_ref, now).id
    store.update_grant_metadata(conn, tenant, grant_id, metadata, now)
    return get_grant(conn, tenant, grant_ref, now)
