"""Hold rules: a hold reserves part of a customer's available balance for
a timeout and resolves exactly once: captured, released or expired.

Every hold write is a writer of the credits unit of work: lock the account, load its
grants and active holds, catch up (expired holds and grants are resolved), change, check,
flush. Holds are not ledger entries: only a capture moves money, as the usage it ingests.
A hold past its expires_at no longer counts anywhere (read lazily); the clock books it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from drawdown.config import DEFAULT_EXPIRY_GRACE
from drawdown.consumption import Usage
from drawdown.credits import store
from drawdown.credits.book import Book, HoldState
from drawdown.credits.schemas import HoldCreate, HoldOut
from drawdown.credits.service import currency_of
from drawdown.credits.work import CreditWork
from drawdown.customers.service import resolve_customer
from drawdown.errors import (
    ConflictError,
    InsufficientCreditsError,
    NotFoundError,
    ValidationFailed,
    field,
)
from drawdown.ids import new_id, parse_id, render_id
from drawdown.money import AmountError, format_units, parse_amount
from drawdown.paging import PageRequest, Slice
from drawdown.tenancy import Tenant

__all__ = [
    "ExceedsHoldAmount",
    "HoldResult",
    "capture_hold",
    "count_active",
    "create_hold",
    "get_hold",
    "holds_page",
    "release_hold",
    "render_hold",
]

# A hold resolved already answers 409 with one code per way it resolved.
_CONFLICT_CODES = {
    "captured": "hold_already_captured",
    "released": "hold_already_released",
    "expired": "hold_expired",
}

HoldResult = tuple[Any, int]  # (the stored hold row, available balance after the call)


class ExceedsHoldAmount(ValidationFailed):
    """422: a capture costs more than the amount held, and no overage was allowed."""

    code = "exceeds_hold_amount"


def _units(value: str | int, decimals: int, loc: list[str | int]) -> int:
    try:
        units = parse_amount(value, decimals)
    except AmountError as exc:
        raise field(loc, str(exc)) from None
    if units <= 0:
        raise field(loc, "must be greater than zero")
    return units


def create_hold(
    conn: Connection,
    tenant: Tenant,
    body: HoldCreate,
    now: datetime,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> HoldResult:
    """Reserve ``amount`` (or, when short, what is available down to ``min_amount``);
    402 when even that does not fit."""
    customer = resolve_customer(conn, tenant, body.customer_id, body.external_customer_id)
    currency_id, decimals = currency_of(conn, tenant, body.currency_id, body.meter_id)
    requested = _units(body.amount, decimals, ["amount"])
    min_units = requested
    if body.min_amount is not None:
        min_units = _units(body.min_amount, decimals, ["min_amount"])
        if min_units > requested:
            raise field("min_amount", "must be at most amount")
    key = (customer.id, currency_id)
    work = CreditWork.open(conn, tenant, [key], now, grace=grace, with_holds=True)
    account, book = work.account(*key), work.book(*key)
    expires_at = now + timedelta(seconds=body.timeout_s)
    hold = HoldState(new_id(), requested, expires_at, metadata=body.metadata)
    if not book.place_hold(hold, min_units, now):
        available = format_units(book.available(now), decimals)
        raise InsufficientCreditsError(
            f"{available} available, {format_units(requested, decimals)} requested",
            available=available,
            requested=format_units(requested, decimals),
        )
    values = {
        "id": hold.id,
        "amount": hold.amount,
        "requested": requested,
        "min_amount": min_units,
        "timeout_s": body.timeout_s,
        "expires_at": hold.expires_at,
        "status": "active",
        "debt_incurred": 0,
        "metadata_": body.metadata,
        "created_at": now,
        "updated_at": now,
    }
    work.on_flush(lambda c: store.insert_hold(c, account, values))
    return _finish(conn, tenant, work, book, hold.id)


def _finish(
    conn: Connection, tenant: Tenant, work: CreditWork, book: Book, hold_id: uuid.UUID
) -> HoldResult:
    work.finish()  # check, write the hold.* events to the outbox, flush
    return _row(conn, tenant, hold_id), book.available(work.now)


def _row(conn: Connection, tenant: Tenant, hold_id: uuid.UUID) -> Any:
    row = store.get_hold(conn, tenant, hold_id)
    assert row is not None
    return row


def get_hold(conn: Connection, tenant: Tenant, hold_ref: str) -> Any:
    parsed = parse_id("hold", hold_ref)
    row = None if parsed is None else store.get_hold(conn, tenant, parsed)
    if row is None:
        raise NotFoundError(f"No hold {hold_ref}")
    return row


def _open_active(
    conn: Connection, tenant: Tenant, row: Any, now: datetime, grace: timedelta
) -> tuple[CreditWork, Book, HoldState]:
    """The unit of work on a hold's account and the hold, which must still be active."""
    key = (row.customer_id, row.currency_id)
    work = CreditWork.open(conn, tenant, [key], now, grace=grace, with_holds=True)
    book = work.book(*key)
    hold = (book.holds or {}).get(row.id)
    # Lazily expired holds were resolved by catch_up: they answer like booked ones.
    status = row.status if hold is None else hold.status
    if hold is None or status != "active":
        raise ConflictError(
            f"Hold {render_id('hold', row.id)} is {status}", code=_CONFLICT_CODES[status]
        )
    return work, book, hold


def release_hold(
    conn: Connection,
    tenant: Tenant,
    hold_ref: str,
    reason: str | None,
    now: datetime,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> HoldResult:
    """Give the whole reservation back."""
    row = get_hold(conn, tenant, hold_ref)
    work, book, hold = _open_active(conn, tenant, row, now, grace)
    book.resolve_hold(hold, "released", now, reason)
    return _finish(conn, tenant, work, book, hold.id)


def capture_hold(
    conn: Connection,
    tenant: Tenant,
    row: Any,
    usage: Usage | None,
    amount: str | int | None,
    allow_overage: bool,
    now: datetime,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> HoldResult:
    """Resolve the hold as captured and draw its (already stored) event's ``usage`` in the
    normal order, releasing the rest, in the caller's transaction. ``amount``, when given,
    must be what the event costs; above the amount held it needs ``allow_overage``."""
    units = 0 if usage is None else usage.amount_units
    if usage is not None and usage.currency_id != row.currency_id:
        raise field(["event", "name"], "this event's meter counts in another currency")
    if units < 0:
        raise field(["event", "properties"], "a capture's event must consume credits")
    if amount is not None:
        try:
            stated = parse_amount(amount, row.decimals)
        except AmountError as exc:
            raise field("amount", str(exc)) from None
        if stated != units:
            cost = format_units(units, row.decimals)
            raise field("amount", f"the event costs {cost}, not {amount}")
    work, book, hold = _open_active(conn, tenant, row, now, grace)
    if units > hold.amount and not allow_overage:
        msg = (
            f"{format_units(units, row.decimals)} is more than the "
            f"{format_units(hold.amount, row.decimals)} held (pass allow_overage)"
        )
        raise ExceedsHoldAmount([(["amount"], msg)])
    event_id = usage.event_id if usage is not None else None
    event_at = usage.timestamp if usage is not None else now
    book.capture(hold, units, event_id, event_at, now)
    return _finish(conn, tenant, work, book, hold.id)


def holds_page(
    conn: Connection,
    tenant: Tenant,
    customer_id: uuid.UUID | None,
    statuses: Sequence[str] | None,
    now: datetime,
    page: PageRequest,
) -> Slice[Any]:
    """A page of a tenant's (or one customer's) holds, newest first, with the status
    filter read at ``now`` and applied in the query."""
    return store.holds_page(conn, tenant, customer_id, statuses, now, page)


def count_active(conn: Connection, tenant: Tenant, now: datetime) -> int:
    """The tenant's holds still reserving credits at ``now`` (lazily expired ones left out)."""
    return store.active_hold_count(conn, tenant, now)


def render_hold(row: Any, now: datetime, available_after: int | None = None) -> HoldOut:
    decimals = row.decimals
    status = "expired" if row.status == "active" and row.expires_at <= now else row.status
    captured = row.captured_amount
    return HoldOut(
        id=render_id("hold", row.id),
        customer_id=row.customer_id,
        currency_id=render_id("currency", row.currency_id),
        status=status,
        amount=format_units(row.amount, decimals),
        requested=format_units(row.requested, decimals),
        min_amount=format_units(row.min_amount, decimals),
        captured_amount=None if captured is None else format_units(captured, decimals),
        debt_incurred=format_units(row.debt_incurred, decimals),
        event_id=render_id("event", row.event_id) if row.event_id else None,
        reason=row.reason,
        timeout_s=row.timeout_s,
        expires_at=row.expires_at,
        resolved_at=row.resolved_at if status == row.status else row.expires_at,
        available_after=None
        if available_after is None
        else format_units(available_after, decimals),
        metadata=row.metadata_,
        livemode=row.mode == "live",
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
