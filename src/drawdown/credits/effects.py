"""What a credits transaction tells receivers: outbox events and alert crossings, written in
the same transaction.

Every credits writer (ingest's drawdown, grant create/void/expire, the clock) calls
:func:`emit_effects` with the books it changed, inside its transaction and before it
flushes them. The books hold the new state; the locked account rows still hold the state
before the transaction, so every change is decided exactly once, under the account locks:

- ``credit_grant.created|depleted|expired|voided`` for each grant the transaction created
  or closed;
- ``credit.debt_incurred`` when an account goes from no debt into debt;
- ``credit.balance_depleted`` when the credits left to spend (live remaining minus debt,
  holds aside) go from above zero to zero, ``credit.balance_recovered`` when they come back;
- ``hold.created|captured|released|expired`` for each hold the transaction placed or
  resolved;
- balance alerts: each threshold crossing of a configured alert (``credit.balance_low``);
  an alert on the available balance counts active holds.

All of a transaction's events go out in one outbox insert per tenant (the clock's pass may
span tenants). When nothing crossed, the cost is the alert lookup (one indexed query) and
no write; the holds of an account whose writer did not load them are summed (one more
query) only when an alert on its available balance applies."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from drawdown.alerts import evaluate as alerts
from drawdown.credits import store
from drawdown.credits.book import Book, GrantState, HoldState
from drawdown.ids import render_id
from drawdown.money import format_units
from drawdown.tenancy import Tenant
from drawdown.webhooks.outbox import OutboxEvent, emit_many

__all__ = ["emit_effects"]

_CLOSED_TYPES = {
    "depleted": "credit_grant.depleted",
    "expired": "credit_grant.expired",
    "voided": "credit_grant.voided",
}


_HOLD_TYPES = {
    "active": "hold.created",
    "captured": "hold.captured",
    "released": "hold.released",
    "expired": "hold.expired",
}


def _hold_changes(book: Book) -> list[tuple[str, HoldState]]:
    holds = book.holds or {}
    return [(_HOLD_TYPES[holds[i].status], holds[i]) for i in sorted(book.changed_holds)]


def _held(book: Book, now: datetime) -> tuple[int | None, int | None]:
    """What the book's holds reserved before this transaction and after it; (None, None)
    when the writer did not load them (it did not change them either)."""
    if book.holds is None:
        return None, None
    before = sum(
        h.amount
        for h in book.holds.values()
        if not h.is_new and (h.status == "active" or h.id in book.changed_holds)
    )
    return before, book.held(now)


def _grant_changes(book: Book) -> list[tuple[str, GrantState]]:
    out = []
    for grant_id in sorted(book.changed):
        grant = book.grants[grant_id]
        if grant.is_new:
            out.append(("credit_grant.created", grant))
        closed = _CLOSED_TYPES.get(grant.status)
        if closed is not None:  # books load only open grants: closed here means just now
            out.append((closed, grant))
    return out


def _account_changes(account: Any, book: Book) -> list[str]:
    out = []
    if account.debt == 0 and book.debt > 0:
        out.append("credit.debt_incurred")
    # Credits left to spend, holds aside: a hold reserves credits, it does not spend them.
    before, after = max(account.balance, 0), max(book.live_remaining() - book.debt, 0)
    if before > 0 >= after:
        out.append("credit.balance_depleted")
    # A fresh account's first grant is not a recovery: only one with history recovers.
    if before <= 0 < after and account.last_sequence > 0:
        out.append("credit.balance_recovered")
    return out


def _moves(pairs: Sequence[tuple[Any, Book]], now: datetime) -> list[alerts.Move]:
    moves = []
    for account, book in pairs:
        before_held, after_held = _held(book, now)
        if account.balance == book.balance and before_held == after_held:
            continue
        moves.append(
            alerts.Move(
                tenant=Tenant(account.organization_id, account.mode),
                account_id=account.id,
                customer_id=account.customer_id,
                currency_id=account.currency_id,
                before_ledger=account.balance,
                after_ledger=book.balance,
                ledger_sequence=book.last_sequence,
                before_sequence=account.last_sequence,
                before_held=before_held,
                after_held=after_held,
            )
        )
    return moves


def emit_effects(conn: Connection, pairs: Sequence[tuple[Any, Book]], now: datetime) -> None:
    """Write the outbox events of these (account before, book after) pairs."""
    changed = [(a, b) for a, b in pairs if b.changed or b.entries or b.changed_holds]
    crossings = alerts.evaluate(
        conn, _moves(changed, now), now, lambda ids: store.held_by_account(conn, ids, now)
    )
    found: list[tuple[Any, Book, str, Any]] = []
    for account, book in changed:
        found += [(account, book, name, hold) for name, hold in _hold_changes(book)]
        found += [(account, book, name, grant) for name, grant in _grant_changes(book)]
        found += [(account, book, name, None) for name in _account_changes(account, book)]
    if not found and not crossings:
        return
    ids = [account.id for account, *_ in found] + [c.move.account_id for c in crossings]
    labels = store.account_labels(conn, ids, now)
    by_tenant: dict[Tenant, list[OutboxEvent]] = {}
    for account, book, name, item in found:
        label = labels[account.id]
        data = _account_data(account, book, label, now)
        if isinstance(item, HoldState):
            data.update(_hold_data(item, label.decimals))
        elif isinstance(item, GrantState):
            data.update(_grant_data(item, label.decimals))
        elif name == "credit.debt_incurred":
            data["debt_event_id"] = _first_debt_event(book)
        tenant = Tenant(account.organization_id, account.mode)
        by_tenant.setdefault(tenant, []).append(OutboxEvent(name, data, now))
    for crossing in crossings:
        label = labels[crossing.move.account_id]
        event = alerts.render(crossing, label.external_id, label.decimals, now)
        by_tenant.setdefault(crossing.move.tenant, []).append(event)
    for tenant, events in by_tenant.items():
        emit_many(conn, tenant, events)


def _account_data(account: Any, book: Book, label: Any, now: datetime) -> dict[str, Any]:
    decimals = label.decimals
    # The book's own holds when it loaded them (this transaction's changes included), else
    # the stored ones, which the transaction did not touch.
    held = book.held(now) if book.holds is not None else int(label.held)
    return {
        "customer_id": render_id("customer", account.customer_id),
        "external_customer_id": label.external_id,
        "currency_id": render_id("currency", account.currency_id),
        "balance": format_units(book.balance, decimals),
        "previous_balance": format_units(account.balance, decimals),
        "available": format_units(max(book.live_remaining() - book.debt - held, 0), decimals),
        "held": format_units(held, decimals),
        "debt": format_units(book.debt, decimals),
        "ledger_sequence": book.last_sequence,
    }


def _hold_data(hold: HoldState, decimals: int) -> dict[str, Any]:
    captured = hold.captured_amount
    return {
        "hold_id": render_id("hold", hold.id),
        "status": hold.status,
        "amount": format_units(hold.amount, decimals),
        "captured_amount": None if captured is None else format_units(captured, decimals),
        "debt_incurred": format_units(hold.debt_incurred, decimals),
        "event_id": render_id("event", hold.event_id) if hold.event_id else None,
        "reason": hold.reason,
        "expires_at": _iso(hold.expires_at),
        "resolved_at": _iso(hold.resolved_at) if hold.resolved_at else None,
        "metadata": hold.metadata,
    }


def _grant_data(grant: GrantState, decimals: int) -> dict[str, Any]:
    return {
        "grant_id": render_id("credit_grant", grant.id),
        "amount": format_units(grant.amount, decimals),
        "remaining": format_units(grant.remaining, decimals),
        "status": grant.status,
        "category": grant.category,
        "priority": grant.priority,
        "effective_at": _iso(grant.effective_at),
        "expires_at": _iso(grant.expires_at) if grant.expires_at else None,
    }


def _first_debt_event(book: Book) -> str | None:
    event_id: uuid.UUID | None = next(
        (entry.event_id for entry in book.entries if entry.type == "debt"), None
    )
    return render_id("event", event_id) if event_id else None


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
